"""Every committed derived file but the exports is what `make notebooks` makes of the pages, as
nbdev's CI checks it: regenerate in a copy of the checkout and compare. The exports need
Sphinx's reading of the book: tests/book/test_exports.py checks them."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.book import package_digest

INPUTS = [":!tests", ":!notebooks"]  # what regeneration reads: all but these (git pathspecs)
OUTPUTS = ("d2lsave", "book", "assignments")
MODULE = "d2lsave/synthetic_regression_data.py"


def regenerate_in(folder: Path) -> None:
    """`make notebooks --no-execute` but the exports, by `folder`'s tools in a fork of pytest
    (whose libraries, imported already, are not imported again)."""
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    for name in [name for name in sys.modules if name.split(".")[0] in ("tools", "d2lsetup")]:
        del sys.modules[name]
    from tools import derived

    assert Path(derived.__file__).is_relative_to(folder), "would regenerate the checkout"
    sys.exit(derived.main(run=False, exports=False))


def outputs(folder: Path) -> dict[str, bytes]:
    files = (path for name in OUTPUTS for path in (folder / name).rglob("*") if path.is_file())
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in files}


def test_regenerating_changes_no_committed_file_and_undoes_a_hand_edit(tmp_path):
    listed = ["git", "ls-files", "-co", "--exclude-standard", "-z", "--", *INPUTS]
    names = subprocess.run(listed, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in filter(None, names.split("\0")):  # the checkout as it is, uncommitted edits too
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp_path / name)
    module = tmp_path / MODULE
    module.write_text(module.read_text().replace("noise=0.01", "noise=0.5", 1))
    assert package_digest(tmp_path) != package_digest(ROOT)  # the pages importing it are stale
    before = outputs(tmp_path)
    child = multiprocessing.get_context("fork").Process(target=regenerate_in, args=(tmp_path,))
    child.start()
    child.join()
    assert child.exitcode == 0, "regeneration failed: see the captured output"
    after = outputs(tmp_path)
    changed = sorted(name for name in {*before, *after} if before.get(name) != after.get(name))
    assert changed == [MODULE], "run `make notebooks`"
    assert module.read_bytes() == (ROOT / MODULE).read_bytes()
    assert package_digest(tmp_path) == package_digest(ROOT)


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_project_is_ruff_clean(command):  # the lint of make check and make test
    result = subprocess.run([sys.executable, "-m", "ruff", *command], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout.decode()
