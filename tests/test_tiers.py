"""`make check` leaves out exactly the slow tests, and the browser tests skip cleanly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import conftest
from tests.conftest import ROOT


class Item:
    """The part of a collected test that the marking hook reads and writes."""

    def __init__(
        self, *fixturenames: str, path: str = "tests/test_x.py", marked: tuple[str, ...] = ()
    ) -> None:
        self.fixturenames = fixturenames
        self.path = Path(path)
        self.nodeid = f"{path}::test"
        self.marked = marked  # by the test itself
        self.markers: list[str] = []  # by the hook

    def add_marker(self, marker: str) -> None:
        self.markers.append(marker)

    def iter_markers(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(name=name) for name in (*self.marked, *self.markers)]


def test_tests_are_marked_by_the_slow_fixtures_they_use():
    page, book, plain = Item("offline_page", "chromium", "book_server"), Item("built_book"), Item()
    conftest.pytest_collection_modifyitems(None, [page, book, plain])
    assert set(page.markers) == {"browser", "build"}
    assert book.markers == ["build"] and plain.markers == []


def test_notebook_cells_are_marked_nbval():
    cell, test = Item(path="book/explorer.ipynb"), Item(path="tests/test_explorer.py")
    conftest.pytest_collection_modifyitems(None, [cell, test])
    assert cell.markers == ["nbval"] and test.markers == []


def pytest_commands(*targets: str) -> list[str]:
    """The pytest commands `make targets` would run, each on one line; nothing is run."""
    result = subprocess.run(
        ["make", "--dry-run", *conftest.ENVIRONMENTS_AS_MADE, *targets],
        cwd=ROOT,
        env=conftest.outside_make(),
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in result.stdout.replace("\\\n", " ").splitlines() if "pytest" in line]


def test_make_test_runs_every_test_and_every_notebook_once_in_two_runs():
    first, rest, rest_nbval = pytest_commands("test-notebooks", "test-rest")
    beside = re.search(r'-m "(.*?)"', first)[1]
    assert set(beside.split(" or ")) == conftest.RUN_BESIDE_THE_BUILD
    assert re.search(r'-m "(.*?)"', rest)[1] == f"not ({beside})"
    notebooks = [re.findall(r"book/[\w.-]+\.ipynb", line) for line in (first, rest_nbval)]
    assert all(notebooks) and not set(notebooks[0]) & set(notebooks[1])
    every = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "book").glob("*.ipynb"))
    assert sorted(notebooks[0] + notebooks[1]) == every
    assert '-m "' not in rest_nbval  # every cell of its notebooks, whatever its markers


@pytest.mark.parametrize(
    "item",
    [
        Item("built_book", marked=("colab",)),
        Item("offline_page", "chromium", marked=("colab",)),
        Item("book_server", path="book/explorer.ipynb"),
    ],
    ids=["colab test on the built book", "colab test on a page", "notebook cell on the server"],
)
def test_a_test_run_beside_the_build_may_not_use_the_built_book(item):
    with pytest.raises(pytest.UsageError, match=re.escape(item.nodeid) + ".* may not use"):
        conftest.pytest_collection_modifyitems(None, [Item("built_book"), item])


def test_tests_run_beside_the_build_without_the_built_book_are_collected():
    apart = [Item("tmp_path", marked=("colab",)), Item(path="book/explorer.ipynb")]
    conftest.pytest_collection_modifyitems(None, [Item("built_book"), *apart])
    assert apart[1].markers == ["nbval"]


def test_the_fast_tier_deselects_every_slow_marker():
    declared = (ROOT / "pyproject.toml").read_text().split("markers = [", 1)[1].split("]", 1)[0]
    names = set(re.findall(r'"(\w+):', declared))
    (check,) = pytest_commands("check")
    assert set(re.search(r'-m "not \((.*?)\)"', check)[1].split(" or ")) == names


def test_a_missing_chromium_skips_naming_make_browser(monkeypatch):
    pytest.importorskip("playwright.sync_api")
    monkeypatch.setattr(conftest, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.skip.Exception, match=r"run `make browser`.*/nonexistent/chromium"):
        conftest.require_browser()


def test_a_missing_playwright_skips_with_the_same_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails
    with pytest.raises(pytest.skip.Exception, match=re.escape(conftest.NO_BROWSER)):
        conftest.require_browser()


def make_dry_run(*arguments: str, **variables: str) -> subprocess.CompletedProcess:
    """What `make book` would run, printed and not run, with the environment taken as made;
    `variables` are set in its process environment."""
    return subprocess.run(
        ["make", "--dry-run", *conftest.ENVIRONMENTS_AS_MADE, "book", *arguments],
        cwd=ROOT,
        env=conftest.outside_make(**variables),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("setting", "prints"), [((), True), (("PDF=yes",), True), (("PDF=no",), False)]
)
def test_make_book_prints_the_pdf_unless_told_not_to(setting, prints):
    result = make_dry_run(*setting)
    assert result.returncode == 0, result.stderr
    assert ("tools.pdf" in result.stdout) is prints
    assert "jupyter-book build" in result.stdout


def test_make_book_prints_the_pdf_whatever_the_environment_says():
    result = make_dry_run(PDF="maybe")  # a variable of the user's, not a setting
    assert result.returncode == 0, result.stderr
    assert "tools.pdf" in result.stdout


def test_make_book_names_a_bad_pdf_setting():
    result = make_dry_run("PDF=maybe")
    assert result.returncode != 0
    assert "PDF=maybe: expected yes or no" in result.stderr


def test_make_book_renders_the_stored_notebooks_and_executes_none():
    commands = make_dry_run("PDF=no").stdout
    assert "tools.notebooks" not in commands and "tools.extract_saved" not in commands
    assert commands.index("-m tools.frameworks merge") < commands.index("jupyter-book build")
