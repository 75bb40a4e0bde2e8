"""Cut the theme's Font Awesome webfonts down to the icons the book shows.

The book does without the theme's fontawesome.js (book/_templates/static/webpack-macros.html),
so its icons are drawn from Font Awesome's fonts, which the theme's CSS loads: 300 KB of
glyphs, of which a page shows some twenty. After the build, each font in
`_static/vendor/fontawesome/webfonts` is rewritten with only the glyphs that a page or a
stylesheet may ask for:

- the icon classes of the built pages (`<i class="fa-solid fa-sun">`), and those the theme's
  script adds (`SCRIPTED`), mapped to their codepoints by Font Awesome's own CSS rules
  (`.fa-sun:before{content:"\\f185"}`) in the theme's stylesheet;
- the icons that stylesheets draw through pseudo-elements (admonition titles, external links,
  the breadcrumb divider, ...): every Private Use Area character of a CSS string outside those
  rules, unless the rule names another font.

The subsets come from the theme's own `.ttf` files, never from the output folder, which holds
last build's subsets until Sphinx copies the theme's fonts over them again. The `.woff2` files,
the ones browsers load, are written with the `brotli` module, pinned in requirements.txt.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WEBFONTS = Path("vendor", "fontawesome", "webfonts")  # in the theme's static folder and _static
ICON_MAP_CSS = Path("styles", "pydata-sphinx-theme.css")  # holds Font Awesome's CSS
SCRIPTED = ("xmark",)  # pydata-sphinx-theme.js adds it to the announcement and version banners

RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")  # an innermost rule: its selector and its body
ICON_SELECTOR = re.compile(r"(?:\.fa-[\w-]+:(?:before|after),?)+")  # Font Awesome's icon rules
CSS_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"' r"|'((?:[^'\\]|\\.)*)'")
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?|\\(.)", re.S)
FONT_FAMILY = re.compile(r"(?<![\w-])font-family:([^;]*)")  # the property, not --pst-font-family
CLASS_ATTRIBUTE = re.compile(r"""class=["']([^"']*)["']""")
PRIVATE_USE = range(0xE000, 0xF900)  # where Font Awesome puts its icons


def css_strings(body: str) -> Iterable[str]:
    """The strings of a CSS declaration block, their escapes (`\\f185`) decoded."""
    for match in CSS_STRING.finditer(body):
        text = match[1] if match[1] is not None else match[2]
        yield CSS_ESCAPE.sub(lambda e: chr(int(e[1], 16)) if e[1] else e[2], text)


def css_rules(css: str) -> Iterable[tuple[str, str]]:
    """Each innermost rule of a stylesheet as (selector, body), comments left out."""
    for match in RULE.finditer(re.sub(r"/\*.*?\*/", "", css, flags=re.S)):
        yield match[1].strip(), match[2]


def icon_codepoints(css: str) -> dict[str, str]:
    """Font Awesome's icon names and their characters: `{"sun": "\\uf185", ...}`."""
    icons = {}
    for selector, body in css_rules(css):
        content = re.search(r"content:(\"[^\"]*\"|'[^']*')", body)
        if ICON_SELECTOR.fullmatch(selector) and content:
            for name in re.findall(r"\.fa-([\w-]+):", selector):
                icons[name] = "".join(css_strings(content[1])).strip()
    return icons


def pseudo_element_icons(css: str) -> set[str]:
    """The icon characters a stylesheet draws outside Font Awesome's icon rules."""
    found = set()
    for selector, body in css_rules(css):
        if ICON_SELECTOR.fullmatch(selector):
            continue
        family = FONT_FAMILY.search(body)
        if family and "Font Awesome" not in family[1].replace("\\", ""):
            continue  # drawn with another font, such as ipywidgets' FontAwesome 4
        found |= {c for text in css_strings(body) for c in text if ord(c) in PRIVATE_USE}
    return found


def page_icon_names(html_files: Iterable[Path]) -> set[str]:
    """The `fa-...` class names of the pages, icons and modifiers (`fa-lg`) alike."""
    names = set()
    for page in html_files:
        for classes in CLASS_ATTRIBUTE.findall(page.read_text(encoding="utf-8", errors="replace")):
            names |= {word[3:] for word in classes.split() if word.startswith("fa-")}
    return names


def needed_characters(outdir: Path) -> tuple[list[str], set[str]]:
    """The icon names of the pages (and `SCRIPTED`) that Font Awesome knows, and every
    character those and the built stylesheets ask for."""
    static = outdir / "_static"
    icons = icon_codepoints((static / ICON_MAP_CSS).read_text(encoding="utf-8"))
    pages = (page for page in outdir.rglob("*.html") if static not in page.parents)
    names = sorted((page_icon_names(pages) | set(SCRIPTED)) & icons.keys())
    characters = {icons[name] for name in names}
    for stylesheet in sorted(static.rglob("*.css")):
        characters |= pseudo_element_icons(stylesheet.read_text(encoding="utf-8", errors="replace"))
    return names, characters


def write_subset(source: Path, target: Path, characters: set[str], flavor: str | None) -> None:
    """Write the glyphs of `characters` that `source` has to `target`, atomically; the same
    font and characters give the same bytes (no timestamps)."""
    options = subset.Options(flavor=flavor, recalc_timestamp=False)
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in "".join(characters)))
    subsetter.subset(font)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        subset.save_font(font, temporary, options)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        font.close()


def subset_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    """Replace the built book's Font Awesome fonts with subsets of the icons it uses."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    target = outdir / "_static" / WEBFONTS
    sources = [Path(folder, "static", WEBFONTS) for folder in app.builder.theme.get_theme_dirs()]
    source = next((folder for folder in sources if folder.is_dir()), None)
    if source is None or not (outdir / "_static" / ICON_MAP_CSS).is_file():
        return  # a theme without Font Awesome's fonts
    names, characters = needed_characters(outdir)
    flavors = {".ttf": None, ".woff2": "woff2"}  # woff2 is compressed with brotli (pinned)
    for font in sorted(source.glob("*.ttf")):
        for suffix, flavor in flavors.items():
            if (target / font.name).with_suffix(suffix).is_file():
                write_subset(font, (target / font.name).with_suffix(suffix), characters, flavor)
    logger.info(f"icon fonts: {len(characters)} glyphs kept, for {', '.join(names)} and CSS")


def setup(app: Sphinx) -> dict[str, bool]:
    """Register the subsetting; `book_extras` loads this module."""
    app.connect("build-finished", subset_icon_fonts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
