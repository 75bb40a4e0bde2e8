"""The book tier's browser (pytest-playwright's, Debian's Chromium): contexts open the built book
from disk, refuse every other request, record the explorer, and fail a test on a console error
or a request out of the book."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.explorer_page import BOOK, RECORD_DRAWINGS, goto, watch


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict, built_book: Path) -> dict:
    viewport = {"width": 1280, "height": 900}
    return {**browser_context_args, "base_url": BOOK + "/", "viewport": viewport}


@pytest.fixture
def context(context, built_book: Path):
    """A context whose pages see the built book and nothing else (`context.log` records what
    they did), and which no test leaves with a console error or a request out of the book."""
    context.log = watch(context)
    context.add_init_script(RECORD_DRAWINGS)
    yield context
    assert (context.log.console_errors, context.log.blocked_requests) == ([], []), context.log


def open_page(page, path: str, mode: str = "light", until: str = "load"):
    """Open a page of the book in the colour mode a reader chose (the theme keeps it in
    localStorage), once its live explorer, if any, has drawn."""
    # not in the blank page before the book's, whose storage a file: URL may not read
    page.context.add_init_script(f"try {{ localStorage.setItem('mode', '{mode}') }} catch {{}}")
    return goto(page, path, until)


def relative_luminance(rgb) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour given as 0-255 channels."""
    rgb = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first, second) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)
