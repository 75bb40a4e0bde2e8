"""Every committed derived file is what `make notebooks` makes of the pages, as nbdev's CI
checks it: regenerate in a copy of the checkout, then `git diff --exit-code`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.book import package_digest, toc_notebooks

REGENERATE = "from tools import derived; raise SystemExit(derived.main(run=False))"


def git(folder: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return result.stdout


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the checkout as it is on disk (uncommitted edits included), committed, so
    that `git status` in it shows what regeneration changed."""
    copy = tmp_path
    for name in git(ROOT, "ls-files", "-co", "--exclude-standard", "-z").split("\0"):
        if name and (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    git(copy, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "as it is")
    return copy


def regenerate(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", REGENERATE], cwd=folder, capture_output=True, text=True
    )


def test_the_book_has_notebooks():
    assert [page.name for page in toc_notebooks()] == [
        "synthetic-regression-data.md",
        "going-further.md",
        "explorer.md",
        "exercises.md",
        "engineering-notes.md",
    ]


def test_regenerating_changes_no_committed_file_and_undoes_a_hand_edit(checkout):
    module = checkout / "d2lsave" / "synthetic_regression_data.py"
    module.write_text(module.read_text().replace("noise=0.01", "noise=0.5", 1))
    git(checkout, "commit", "-qam", "a hand edit of d2lsave")
    result = regenerate(checkout)
    assert result.returncode == 0, result.stdout + result.stderr
    changed = git(checkout, "status", "--porcelain").split()
    assert changed == ["M", "d2lsave/synthetic_regression_data.py"], "run `make notebooks`"
    assert module.read_bytes() == (ROOT / "d2lsave" / module.name).read_bytes()


def test_the_d2lsave_digest_follows_its_code(tmp_path):
    module = tmp_path / "d2lsave" / "chapter.py"
    module.parent.mkdir()
    module.write_text("ANSWER = 1\n")
    before = package_digest(tmp_path)
    assert package_digest(tmp_path) == before
    module.write_text("ANSWER = 2\n")
    assert package_digest(tmp_path) != before


@pytest.mark.parametrize(
    "command",
    [["check", "."], ["format", "--check", "."]],
    ids=["check", "format"],
)
def test_project_is_ruff_clean(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
