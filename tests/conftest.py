"""Shared fixtures: the built book, a local web server for it, and an offline browser page."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, serve, watch

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


def build_book() -> subprocess.CompletedProcess:
    """Build the book exactly as `make book` does, with warnings as errors."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run(
        [str(jupyter_book), "build", ".", "--warningiserror", "--keep-going"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML book, built once per test session."""
    result = build_book()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return HTML


@pytest.fixture(scope="session")
def book_server(built_book: Path) -> Iterator[str]:
    """A loopback web server for the built book; yields its base URL."""
    with serve(built_book) as url:
        yield url


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium, driven by Playwright."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (make test does)")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def offline_page(chromium, book_server):
    """A fresh page that may only reach the book's own server; everything else is blocked."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.log = watch(page, allowed=(book_server, "data:"))
    yield page
    context.close()
