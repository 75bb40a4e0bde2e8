"""The book tier's browser (pytest-playwright's, Debian's Chromium): contexts serve the built book
at `BOOK`, refuse every other request, log what the pages report, and record the explorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.explorer_page import BOOK, RECORD_DRAWINGS, explorer, watch


@pytest.fixture(scope="session")
def sphinx_environment(built_book: Path) -> Path:
    """The session build's pickled Sphinx environment, for tests of what the build read."""
    return built_book.parent / ".doctrees" / "environment.pickle"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, built_book: Path) -> dict:
    return {**browser_context_args, "base_url": BOOK, "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def context(context, built_book: Path):
    """A context whose pages see the built book and nothing else; `context.log` records them."""
    context.log = watch(context, html=built_book)
    context.add_init_script(RECORD_DRAWINGS)
    return context


def open_page(page, path: str, mode: str = "light", until: str = "load"):
    """Open a page of the book in the colour mode a reader chose (the theme keeps it in
    localStorage); a page with widgets once its live explorer has drawn."""
    page.context.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    page.goto(path, wait_until=until)
    if page.locator("script[type*=widget-view]").count():
        explorer(page)
    return page


def relative_luminance(rgb) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour given as 0-255 channels."""
    rgb = [c / 255 for c in rgb]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first, second) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)
