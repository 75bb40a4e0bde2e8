"""Shared fixtures: the built book, and pytest-playwright's browser, Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tools.pdf import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
# `make test` runs these beside the rest, which builds the book: they may not use the build
BESIDE_THE_BUILD = {"nbval", "colab"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each notebook cell nbval runs `nbval`; refuse a test beside the build that uses it."""
    for item in items:
        if Path(getattr(item, "path", "")).suffix == ".ipynb":
            item.add_marker("nbval")
    clashes = [
        item.nodeid
        for item in items
        if {marker.name for marker in item.iter_markers()} & BESIDE_THE_BUILD
        and "built_book" in getattr(item, "fixturenames", ())
    ]
    if clashes:
        raise pytest.UsageError(
            f"{', '.join(clashes)}: marked nbval or colab, so run beside the book's build in "
            "`make test`, and may not use built_book"
        )


def run_here(*command: str) -> subprocess.CompletedProcess:
    """A command run in the repository, its output (stderr too) captured in `stdout`.

    The output goes to a file, not a pipe, and whatever the command left running (a server a
    tool started and did not stop) is ended with it: neither can keep the test waiting.
    """
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        returncode = process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output.seek(0)
        return subprocess.CompletedProcess(command, returncode, output.read(), "")


def build_book() -> subprocess.CompletedProcess:
    """Build the book as `make book ARGS=--no-pdf` does: web assets, merged pages, Sphinx."""
    return run_here(sys.executable, "-m", "tools", "book", "--no-pdf")


def checkout_state() -> str:
    """What git sees of the checkout: the status and every change, so that a build which
    rewrote a committed file, or left a file git does not ignore, is told apart."""
    status = run_here("git", "status", "--porcelain", "--untracked-files=all").stdout
    return status + run_here("git", "diff", "--binary").stdout


BUILD = {}  # the checkout as git saw it before and after the session's build


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML book, built once per test session, and its PDF, as `make book` makes them."""
    BUILD["before"] = checkout_state()
    result = build_book()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    # the download menus link the PDF; in a process of its own, because it drives Chromium,
    # and a test session may already hold Playwright's one sync driver
    printed = run_here(sys.executable, "-m", "tools.pdf", "--if-changed")
    assert printed.returncode == 0, printed.stdout[-3000:] + printed.stderr[-3000:]
    BUILD["after"] = checkout_state()
    return HTML


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """pytest-playwright's browser is Debian's Chromium, never one it downloads."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: `make test` installs it")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}
