"""The book builds with warnings as errors and writes no committed file, a rebuild with nothing
changed does no work, and the pages' scripts are served from the book itself; their icons come
from Font Awesome's fonts cut down to the icons the book uses (book/_ext/icon_fonts.py),
instead of the theme's 1.5 MB fontawesome.js."""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from tests.conftest import BUILD, ROOT, build_book
from tools.explorer_page import PAGES

ICON_FONTS = runpy.run_path(str(ROOT / "book/_ext/icon_fonts.py"))  # Sphinx's, not a package
WEBFONTS = ICON_FONTS["WEBFONTS"]
THEME = Path(importlib.util.find_spec("pydata_sphinx_theme").origin).parent / "theme"
THEME_FONTS = THEME / "pydata_sphinx_theme/static" / WEBFONTS
# Font Awesome's CSS rules, `.fa-sun:before{content:"\f185"}`, read here without the module
ICON_RULE = re.compile(r"((?:\.fa-[\w-]+:before,?)+)\{content:\"\\([0-9a-f]+) ?\"\}")


def test_the_build_writes_no_committed_file(built_book):
    """`make book` writes only under _build/ (and the merged pages, which git ignores)."""
    assert BUILD["after"] == BUILD["before"]


def test_rebuild_with_nothing_changed_writes_nothing(built_book):
    result = build_book()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "no targets are out of date" in result.stdout
    assert "written: " not in result.stdout  # no rendered page of a notebook changed


def test_pages_load_their_scripts_from_the_book_once_and_widgets_only_where_shown(built_book):
    for page in PAGES:
        html = (built_book / page).read_text()
        assert "cdn.jsdelivr" not in html and "cdnjs" not in html, page
        assert "_static/mathjax" not in html, page  # formulas typeset at build time
        assert html.count("const THEBE_JS_URL") == 1, page  # book_extras drops sphinx-thebe's copy
        assert re.search(r'href="(\.\./)*book\.pdf"', html), page  # the download menu's PDF
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


def pages(built_book: Path) -> list[Path]:
    """The built pages, without the theme's templates copied into _static."""
    return sorted(p for p in built_book.rglob("*.html") if "_static" not in p.parts)


def cmap(path: Path) -> set[int]:
    """The codepoints a font has glyphs for."""
    with TTFont(path) as font:
        return set(font.getBestCmap())


def test_no_page_loads_fontawesome_js_but_the_themes_scripts(built_book):
    themed = [page for page in pages(built_book) if "pydata-sphinx-theme.css" in page.read_text()]
    assert len(themed) >= 8  # every page but the redirect of index.html
    for page in pages(built_book):
        assert "fontawesome.js" not in page.read_text(), page
    for page in themed:
        prefix = "../" * (len(page.relative_to(built_book).parts) - 1)  # to the root
        for script in ("scripts/bootstrap.js", "scripts/pydata-sphinx-theme.js"):
            assert f'<script defer src="{prefix}_static/{script}' in page.read_text(), page


@pytest.mark.parametrize("suffix", [".ttf", ".woff2"])
def test_every_icon_shown_has_its_glyph_in_fonts_a_fifth_of_the_themes(built_book, suffix):
    css = (built_book / "_static/styles/pydata-sphinx-theme.css").read_text()
    fonts = {
        name: cmap(built_book / "_static" / WEBFONTS / f"{name}{suffix}")
        for name in ("fa-solid-900", "fa-regular-400", "fa-brands-400")
    }
    icons = {
        name: int(code, 16)
        for selector, code in ICON_RULE.findall(css)
        for name in re.findall(r"\.fa-([\w-]+):before", selector)
    }
    used = set()
    for page in pages(built_book):  # the icon classes of the pages
        for classes in re.findall(r'class="([^"]*)"', page.read_text()):
            words = set(classes.split())
            font = "fa-brands-400" if {"fab", "fa-brands"} & words else "fa-solid-900"
            font = "fa-regular-400" if {"far", "fa-regular"} & words else font
            for name in {w[3:] for w in words if w.startswith("fa-")} & icons.keys():
                used.add(name)
                assert icons[name] in fonts[font], f"{page.name}: fa-{name} is not in {font}"
    assert {"sun", "moon", "github", "magnifying-glass", "bars", "angle-left"} <= used
    # the icons the stylesheets draw: admonitions and the rest, by the theme's --pst-icon-*
    variables = dict(re.findall(r"--pst-icon-([\w-]+):\"(.)\"", css))
    assert {"info-circle", "lightbulb", "bell", "exclamation-triangle"} <= variables.keys()
    for name, character in variables.items():
        font = "fa-brands-400" if name in ("github", "gitlab") else "fa-solid-900"
        assert ord(character) in fonts[font], f"--pst-icon-{name}"
    assert 0xF303 in fonts["fa-solid-900"]  # sphinx-exercise's pencil
    for name in fonts:
        built = (built_book / "_static" / WEBFONTS / f"{name}{suffix}").stat().st_size
        theme = (THEME_FONTS / f"{name}{suffix}").stat().st_size
        assert built * 5 < theme, f"{name}{suffix}: {built} bytes, the theme's {theme}"


def test_a_subset_keeps_exactly_the_glyphs_asked_for_and_is_reproducible(tmp_path):
    characters = {"\uf185", "\uf186", "\uf09b"}  # sun, moon, and GitHub, a brand
    first, second = tmp_path / "first.ttf", tmp_path / "second.ttf"
    for target in (first, second):
        ICON_FONTS["write_subset"](THEME_FONTS / "fa-solid-900.ttf", target, characters, None)
    assert first.read_bytes() == second.read_bytes()
    assert cmap(first) == {0xF185, 0xF186}
    assert sorted(tmp_path.iterdir()) == [first, second]  # no temporary file left behind
