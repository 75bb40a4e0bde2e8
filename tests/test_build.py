"""The book builds with warnings as errors, and a rebuild with nothing changed does no work."""

from __future__ import annotations

from tests.conftest import build_book
from tools.book_notebooks import toc_pages


def test_every_page_is_built(built_book):
    for page in toc_pages():
        assert (built_book / page.parent.name / f"{page.stem}.html").is_file(), page


def test_rebuild_with_nothing_changed_executes_nothing(built_book):
    result = build_book()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no targets are out of date" in result.stdout
    assert "Executing" not in result.stdout


def test_math_and_widgets_are_served_from_the_book(built_book):
    static = built_book / "_static"
    assert (static / "mathjax" / "tex-mml-chtml.js").is_file()
    assert (static / "widgets" / "require" / "require.js").is_file()
    html = (built_book / "book" / "synthetic-regression-data.html").read_text()
    assert "cdn.jsdelivr" not in html and "cdnjs" not in html


def test_each_inline_script_is_included_once(built_book):
    # sphinx-thebe registers its configuration twice; a second `const` declaration would be a
    # JavaScript error on every page (book/_ext/book_extras.py drops the copy)
    for page in toc_pages():
        html = (built_book / page.parent.name / f"{page.stem}.html").read_text()
        assert html.count("const THEBE_JS_URL") == 1, page
