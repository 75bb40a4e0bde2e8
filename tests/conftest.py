"""Shared fixtures: the built book, a local web server for it, and an offline browser page."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, block_outside, serve

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


@dataclass
class PageLog:
    """What a page did that a test may assert on."""

    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


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
    log = PageLog()

    block_outside(page, book_server, log.blocked_requests)
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda error: log.console_errors.append(str(error)))
    page.on("requestfailed", lambda r: log.failed_requests.append(r.url))
    page.log = log
    yield page
    context.close()
