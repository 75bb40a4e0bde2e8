"""The book builds with warnings as errors and writes no committed file, a rebuild with nothing
changed does no work, and the pages' scripts are served from the book itself."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import BUILD, ROOT, build_book
from tools.book import toc_pages


def test_the_build_writes_no_committed_file(built_book):
    """`make book` writes only under _build/ (and the merged pages, which git ignores)."""
    assert BUILD["after"] == BUILD["before"]


def test_rebuild_with_nothing_changed_writes_nothing(built_book):
    result = build_book()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no targets are out of date" in result.stdout
    assert "written: " not in result.stdout  # no rendered page of a notebook changed


def test_pages_load_their_scripts_from_the_book_once_and_widgets_only_where_shown(built_book):
    for page in toc_pages():
        html = (built_book / "book" / f"{page.stem}.html").read_text()
        assert "cdn.jsdelivr" not in html and "cdnjs" not in html, page
        assert "_static/mathjax" not in html, page  # formulas typeset at build time
        assert html.count("const THEBE_JS_URL") == 1, page  # book_extras drops sphinx-thebe's copy
        widgets = "application/vnd.jupyter.widget-view+json" in html
        for script in ("_static/widgets/manager.js", "_static/widgets/preview.js"):
            assert (script in html) == widgets, (page, script)
    # ipywidgets 8's controls and anywidget's front end, and no HTML sanitizer (book/_widgets)
    widgets = built_book / "_static" / "widgets"
    manager = (widgets / "manager.js").read_text()
    for model in ("FloatSliderModel", "IntSliderModel", "GridBoxModel", "LinkModel"):
        assert model in manager, model
    assert "[anywidget]" in manager  # the front end's own messages
    assert "sanitize-html" not in manager and "htmlparser2" not in manager
    assert ".widget-slider" in (widgets / "manager.css").read_text()
    # the preview reads the stored state and runs the anywidget's own code: no bundled controls
    preview = (widgets / "preview.js").read_text()
    assert "widget-preview" in preview
    assert "FloatSliderModel" not in preview and "jQuery" not in preview


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
