"""Derived files must match what their commands produce: paired .ipynb files and d2lsave."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools import extract_saved
from tools.book_notebooks import package_digest, toc_notebooks
from tools.notebooks import pairing_problems

NOTEBOOKS = toc_notebooks()


def test_the_book_has_notebooks():
    assert [page.name for page in NOTEBOOKS] == [
        "synthetic-regression-data.md",
        "going-further.md",
        "explorer.md",
        "exercises.md",
        "engineering-notes.md",
    ]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_paired_notebook_matches_its_markdown(md):
    assert pairing_problems(md) == []


def test_an_edited_markdown_with_a_stale_notebook_is_caught(tmp_path):
    md = NOTEBOOKS[0]
    shutil.copy(md.with_suffix(".ipynb"), tmp_path / md.with_suffix(".ipynb").name)
    edited = md.read_text().replace('print("features:", data.X[0])', "print(data.X[0])")
    assert edited != md.read_text()
    (tmp_path / md.name).write_text(edited)
    problems = pairing_problems(tmp_path / md.name)
    assert problems and "differs from the .md" in problems[0]


def test_a_missing_notebook_is_caught(tmp_path):
    md = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], md)
    assert "is missing" in pairing_problems(md)[0]


def test_the_d2lsave_digest_follows_its_code(tmp_path):
    module = tmp_path / "d2lsave" / "chapter.py"
    module.parent.mkdir()
    module.write_text("ANSWER = 1\n")
    before = package_digest(tmp_path)
    assert package_digest(tmp_path) == before
    module.write_text("ANSWER = 2\n")
    assert package_digest(tmp_path) != before


def test_committed_d2lsave_matches_the_notebooks():
    generated = extract_saved.build_package()
    assert extract_saved.differences(generated) == []


def test_a_hand_edit_of_d2lsave_is_caught():
    generated = extract_saved.build_package()
    module = extract_saved.PACKAGE_DIR / "synthetic_regression_data.py"
    generated[module] = generated[module].replace("noise=0.01", "noise=0.5", 1)
    diffs = extract_saved.differences(generated)
    assert len(diffs) == 1 and "noise=0.5" in diffs[0]


def test_make_lib_check_mode_reports_in_sync():
    result = subprocess.run(
        [sys.executable, "-m", "tools.extract_saved", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "command",
    [["check", "."], ["format", "--check", "tools", "tests", "book/_ext", "d2lsave"]],
    ids=["check", "format"],
)
def test_project_is_ruff_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
