"""The pages draw their icons from Font Awesome's fonts, cut down to the icons the book uses
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

THEME_STATIC = (
    Path(importlib.util.find_spec("pydata_sphinx_theme").origin).parent
    / "theme"
    / "pydata_sphinx_theme"
    / "static"
)
FONTS = ("fa-solid-900", "fa-regular-400", "fa-brands-400")
SUFFIXES = [".ttf", ".woff2"]
# Font Awesome's CSS rules, `.fa-sun:before{content:"\f185"}`, read here without the module
ICON_RULE = re.compile(r"((?:\.fa-[\w-]+:before,?)+)\{content:\"\\([0-9a-f]+) ?\"\}")


def pages(built_book: Path) -> list[Path]:
    """The built pages, without the theme's templates copied into _static."""
    return sorted(p for p in built_book.rglob("*.html") if "_static" not in p.parts)


def icon_map(built_book: Path) -> dict[str, int]:
    """Font Awesome's icon names and their codepoints, from the theme's stylesheet."""
    css = (built_book / "_static" / "styles" / "pydata-sphinx-theme.css").read_text()
    return {
        name: int(code, 16)
        for selector, code in ICON_RULE.findall(css)
        for name in re.findall(r"\.fa-([\w-]+):before", selector)
    }


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
            for script in ("scripts/bootstrap.js", "scripts/pydata-sphinx-theme.js"):
                prefix = "../" * (len(page.relative_to(built_book).parts) - 1)  # to the root
                assert f'<script defer src="{prefix}_static/{script}' in html
    assert themed >= 8


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_icon_class_of_the_pages_has_its_glyph(built_book, suffix):
    icons = icon_map(built_book)
    fonts_dir = built_book / "_static" / icon_fonts.WEBFONTS
    fonts = {name: cmap(fonts_dir / f"{name}{suffix}") for name in FONTS}
    used = set()
    for page in pages(built_book):
        for classes in re.findall(r'class="([^"]*)"', page.read_text()):
            words = classes.split()
            names = [w[3:] for w in words if w.startswith("fa-") and w[3:] in icons]
            font = "fa-brands-400" if {"fab", "fa-brands"} & set(words) else "fa-solid-900"
            if {"far", "fa-regular"} & set(words):
                font = "fa-regular-400"
            for name in names:
                used.add(name)
                assert icons[name] in fonts[font], f"{page.name}: fa-{name} is not in {font}"
    assert {"sun", "moon", "github", "magnifying-glass", "bars", "angle-left"} <= used


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_icons_of_the_stylesheets_have_their_glyphs(built_book, suffix):
    # the admonitions' icons and the rest that the theme's CSS draws through pseudo-elements,
    # named by its --pst-icon-* variables; the exercise's pencil (sphinx-exercise's CSS)
    css = (built_book / "_static" / "styles" / "pydata-sphinx-theme.css").read_text()
    variables = dict(re.findall(r"--pst-icon-([\w-]+):\"(.)\"", css))
    assert {"info-circle", "lightbulb", "bell", "exclamation-triangle"} <= variables.keys()
    fonts_dir = built_book / "_static" / icon_fonts.WEBFONTS
    solid, brands = (
        cmap(fonts_dir / f"{name}{suffix}") for name in ("fa-solid-900", "fa-brands-400")
    )
    for name, character in variables.items():
        font = brands if name in ("github", "gitlab") else solid
        assert ord(character) in font, f"--pst-icon-{name}"
    assert 0xF303 in solid  # the exercise's pencil


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_fonts_are_much_smaller_than_the_themes(built_book, suffix):
    for name in FONTS:
        built = (built_book / "_static" / icon_fonts.WEBFONTS / f"{name}{suffix}").stat().st_size
        theme = (THEME_STATIC / icon_fonts.WEBFONTS / f"{name}{suffix}").stat().st_size
        assert built * 5 < theme, f"{name}{suffix}: {built} bytes, the theme's {theme}"


def test_a_subset_keeps_exactly_the_glyphs_asked_for_and_is_reproducible(tmp_path):
    source = THEME_STATIC / icon_fonts.WEBFONTS / "fa-solid-900.ttf"
    characters = {"\uf185", "\uf186", "\uf09b"}  # sun, moon, and GitHub, a brand
    first, second = tmp_path / "first.ttf", tmp_path / "second.ttf"
    for target in (first, second):
        icon_fonts.write_subset(source, target, characters, None)
    assert first.read_bytes() == second.read_bytes()
    assert cmap(first) == {0xF185, 0xF186}
    assert sorted(tmp_path.iterdir()) == [first, second]  # no temporary file left behind


def test_icons_are_found_in_class_attributes_and_stylesheets():
    css = (
        '.fa-sun:before{content:"\\f185"}.fa-close:before,.fa-xmark:before{content:"\\f00d"}'
        '.note:after{content:var(--x);font:var(--fa-font-solid)}html{--x:"\\f05a"}'
        '.tab:before{font-family:FontAwesome;content:"\\f00d"}.quote:before{content:"\\2014"}'
    )
    assert icon_fonts.icon_codepoints(css) == {
        "sun": "\uf185",
        "close": "\uf00d",
        "xmark": "\uf00d",
    }
    assert icon_fonts.pseudo_element_icons(css) == {"\uf05a"}
