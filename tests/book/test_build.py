"""The book builds with warnings as errors and writes no committed file, a rebuild with nothing
changed does no work, and the explorer's front end is valid JavaScript."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import BUILD, ROOT, build_book
from tools.book import toc_pages


def test_every_page_is_built(built_book):
    for page in toc_pages():
        assert (built_book / page.parent.name / f"{page.stem}.html").is_file(), page


def test_the_build_writes_no_committed_file(built_book):
    """`make book` writes only under _build/ (and the merged pages, which git ignores)."""
    assert BUILD["after"] == BUILD["before"]


def test_rebuild_with_nothing_changed_writes_nothing(built_book):
    result = build_book()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no targets are out of date" in result.stdout
    assert "written: " not in result.stdout  # no rendered page of a notebook changed


def test_math_and_widgets_are_served_from_the_book(built_book):
    static = built_book / "_static"
    assert (static / "katex" / "katex.min.css").is_file()
    assert (static / "widgets" / "manager.js").is_file()
    assert (static / "widgets" / "preview.js").is_file()
    explorer = (built_book / "book" / "explorer.html").read_text()
    assert "_static/widgets/manager.js" in explorer and "_static/widgets/preview.js" in explorer
    for page in ("synthetic-regression-data", "engineering-notes"):
        html = (built_book / "book" / f"{page}.html").read_text()
        assert "cdn.jsdelivr" not in html and "cdnjs" not in html, page
        # formulas typeset at build time, and no widget code where no widget shows
        assert 'class="katex"' in html and "_static/mathjax" not in html, page
        assert "widgets/manager.js" not in html, page


def test_each_inline_script_is_included_once(built_book):
    # sphinx-thebe registers its configuration twice; a second `const` declaration would be a
    # JavaScript error on every page (book/_ext/book_extras.py drops the copy)
    for page in toc_pages():
        html = (built_book / page.parent.name / f"{page.stem}.html").read_text()
        assert html.count("const THEBE_JS_URL") == 1, page


def test_the_status_page_lists_every_stored_notebook_with_its_inputs_digest(built_book):
    html = (built_book / "book" / "status.html").read_text()
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        digest = json.loads(notebook.read_text())["metadata"]["executed_inputs"]
        assert f'<span class="pre">{digest[:12]}</span>' in html, notebook.name


@pytest.mark.skipif(shutil.which("node") is None, reason="no node on the PATH")
def test_the_explorers_front_end_is_a_valid_module():
    """`node --check` as a module: Node 20 passes a broken module given as a `.js` file."""
    check = ["node", "--check", "--input-type=module"]
    source = (ROOT / "book" / "explorer.js").read_text()
    result = subprocess.run(check, input=source, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
