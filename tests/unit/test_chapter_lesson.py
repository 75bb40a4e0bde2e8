"""The chapter is a lesson: short enough in every framework's view, its depth one page on."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tools.frameworks import FRAMEWORKS
from tools.lesson_size import page_sizes

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
GOING_FURTHER = ROOT / "book" / "going-further.md"
MAX_WORDS, MAX_CODE_LINES = 1400, 90
BUILD_COMMANDS = ("make bench", "make lab", "make book", "make test", "make notebooks")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_view_of_the_chapter_is_a_lesson_in_size(framework):
    size = page_sizes(CHAPTER)[(framework, "page")]
    assert size.words <= MAX_WORDS, (framework, size)
    assert size.code_lines <= MAX_CODE_LINES, (framework, size)


def test_the_chapter_names_no_build_command():
    text = CHAPTER.read_text()
    assert not [command for command in BUILD_COMMANDS if command in text]


def test_the_depth_is_on_the_going_further_page():
    chapter, further = CHAPTER.read_text(), GOING_FURTHER.read_text()
    for heading in ("## Which Reader Is Fastest?", "## One Example at a Time"):
        assert heading not in chapter and heading in further
    assert "{doc}`going-further`" in chapter
