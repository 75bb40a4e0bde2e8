"""The chapter is a lesson: short enough in every framework's view, its depth one page on."""

from __future__ import annotations

from tests.conftest import ROOT
from tools.frameworks import FRAMEWORKS
from tools.lesson_size import page_sizes

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
MAX_WORDS, MAX_CODE_LINES = 1400, 90
BUILD_COMMANDS = ("make bench", "make lab", "make book", "make test", "make notebooks")
DEPTH = ("## Which Reader Is Fastest?", "## One Example at a Time")


def test_each_view_of_the_chapter_is_a_lesson_in_size():
    views = page_sizes(CHAPTER)
    sizes = {framework: views[framework, "page"] for framework in FRAMEWORKS}
    too_long = {fw: size for fw, size in sizes.items() if size.words > MAX_WORDS}
    too_long |= {fw: size for fw, size in sizes.items() if size.code_lines > MAX_CODE_LINES}
    assert sizes and too_long == {}


def test_the_chapter_names_no_build_command_and_leaves_its_depth_to_going_further():
    chapter, further = CHAPTER.read_text(), (ROOT / "book" / "going-further.md").read_text()
    assert [command for command in BUILD_COMMANDS if command in chapter] == []
    assert [h for h in DEPTH if h in chapter or h not in further] == []
    assert "{doc}`going-further`" in chapter
