"""Every committed derived file but the exports is what `make notebooks` makes of the pages, as
nbdev's CI checks it: regenerate in a copy of the checkout, then `git status`. The exports need
Sphinx's reading of the book: tests/book/test_exports.py checks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.book import package_digest

REGENERATE = "from tools import derived; raise SystemExit(derived.main(run=False, exports=False))"


def git(folder: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, check=True)
    return result.stdout


def test_regenerating_changes_no_committed_file_and_undoes_a_hand_edit(tmp_path):
    for name in git(ROOT, "ls-files", "-co", "--exclude-standard", "-z").split("\0"):
        if name and (ROOT / name).is_file():  # the checkout as it is, uncommitted edits included
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    module = tmp_path / "d2lsave" / "synthetic_regression_data.py"
    module.write_text(module.read_text().replace("noise=0.01", "noise=0.5", 1))
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "hand-edited")
    command = [sys.executable, "-c", REGENERATE]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    changed = git(tmp_path, "status", "--porcelain").split()
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


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_project_is_ruff_clean(command):  # make check's only lint, until the Makefile runs ruff
    result = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout.decode()
