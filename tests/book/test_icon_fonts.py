"""The pages draw their icons from Font Awesome's fonts cut down to the icons the book uses
(book/_ext/icon_fonts.py), instead of running the theme's 1.5 MB fontawesome.js."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from tests.conftest import ROOT

# book/_ext is Sphinx's extension folder, not a package
_spec = importlib.util.spec_from_file_location("icon_fonts", ROOT / "book/_ext/icon_fonts.py")
icon_fonts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(icon_fonts)
THEME_FONTS = (
    Path(importlib.util.find_spec("pydata_sphinx_theme").origin).parent
    / "theme/pydata_sphinx_theme/static"
    / icon_fonts.WEBFONTS
)
# Font Awesome's CSS rules, `.fa-sun:before{content:"\f185"}`, read here without the module
ICON_RULE = re.compile(r"((?:\.fa-[\w-]+:before,?)+)\{content:\"\\([0-9a-f]+) ?\"\}")


def pages(built_book: Path) -> list[Path]:
    """The built pages, without the theme's templates copied into _static."""
    return sorted(p for p in built_book.rglob("*.html") if "_static" not in p.parts)


def cmap(path: Path) -> set[int]:
    """The codepoints a font has glyphs for."""
    with TTFont(path) as font:
        return set(font.getBestCmap())


def test_no_page_loads_fontawesome_js(built_book):
    themed = 0
    for page in pages(built_book):
        html = page.read_text()
        assert "fontawesome.js" not in html, page
        if "pydata-sphinx-theme.css" in html:  # not the redirect of index.html
            themed += 1
            prefix = "../" * (len(page.relative_to(built_book).parts) - 1)  # to the root
            for script in ("scripts/bootstrap.js", "scripts/pydata-sphinx-theme.js"):
                assert f'<script defer src="{prefix}_static/{script}' in html
    assert themed >= 8


@pytest.mark.parametrize("suffix", [".ttf", ".woff2"])
def test_every_icon_shown_has_its_glyph_in_fonts_a_fifth_of_the_themes(built_book, suffix):
    css = (built_book / "_static/styles/pydata-sphinx-theme.css").read_text()
    fonts = {
        name: cmap(built_book / "_static" / icon_fonts.WEBFONTS / f"{name}{suffix}")
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
        built = (built_book / "_static" / icon_fonts.WEBFONTS / f"{name}{suffix}").stat().st_size
        theme = (THEME_FONTS / f"{name}{suffix}").stat().st_size
        assert built * 5 < theme, f"{name}{suffix}: {built} bytes, the theme's {theme}"


def test_a_subset_keeps_exactly_the_glyphs_asked_for_and_is_reproducible(tmp_path):
    characters = {"\uf185", "\uf186", "\uf09b"}  # sun, moon, and GitHub, a brand
    first, second = tmp_path / "first.ttf", tmp_path / "second.ttf"
    for target in (first, second):
        icon_fonts.write_subset(THEME_FONTS / "fa-solid-900.ttf", target, characters, None)
    assert first.read_bytes() == second.read_bytes()
    assert cmap(first) == {0xF185, 0xF186}
    assert sorted(tmp_path.iterdir()) == [first, second]  # no temporary file left behind
