"""The book in its light and dark themes: the explorer follows the page, figures stay readable.

Contrast is measured on what the browser drew, with the WCAG 2.1 formula: at least 4.5:1 for
text and 3:1 for points, lines and the axes (the thresholds of success criteria 1.4.3 and
1.4.11). Pages are drawn at device scale 2, so that one-pixel lines are whole pixels.
"""

from __future__ import annotations

import io

import pytest

from tools.book_notebooks import toc_pages
from tools.explorer_page import contrast_ratio, explorer, open_in_mode, relative_luminance

pytestmark = pytest.mark.browser
MODES = ("light", "dark")
PAGES = [f"{page.parent.name}/{page.stem}.html" for page in toc_pages()]
ORANGE = (230, 159, 0)  # the minibatch, Okabe-Ito orange in both themes
EDGE = (0, 0, 0)  # the minibatch squares' outline

# Counts of each colour the explorer's canvas holds in a box given in CSS pixels.
COLOURS = """(e, [x, y, width, height]) => {
  const canvas = e.querySelector("canvas"), scale = canvas.width / 760;
  const {data} = canvas.getContext("2d").getImageData(
      Math.round(x * scale), Math.round(y * scale),
      Math.round(width * scale), Math.round(height * scale));
  const counts = {};
  for (let p = 0; p < data.length; p += 4) {
    const key = `${data[p]},${data[p + 1]},${data[p + 2]}`;
    counts[key] = (counts[key] || 0) + 1;
  }
  return counts;
}"""
# The canvas's boxes, in CSS pixels: the left panel spans x 60-360 and y 12-252.
CORNER = (1, 1, 6, 6)
TICK_LABELS = (18, 6, 38, 252)  # the label axis's numbers, left of the left panel
LEFT_AXIS = (59, 20, 2, 100)  # the left panel's frame, above where the lines start
PANEL = (62, 14, 296, 236)  # inside the left panel: points and lines


def colours(page, box) -> dict[tuple[int, ...], int]:
    counts = explorer(page).evaluate(COLOURS, list(box))
    return {tuple(int(c) for c in key.split(",")): n for key, n in counts.items()}


def most_common(counts: dict, excluding=()) -> tuple[int, ...]:
    return max((c for c in counts if c not in excluding), key=counts.get)


def strongest(counts: dict, background) -> float:
    """The highest contrast to the background among the colours: the core of text or a line."""
    return max(contrast_ratio(colour, background) for colour in counts)


def canvas_contrasts(page) -> dict[str, float]:
    """Contrast to the canvas background of the text, the frame, the points and the lines."""
    background = most_common(colours(page, CORNER))
    panel = colours(page, PANEL)
    blue = {c: n for c, n in panel.items() if c[2] - c[0] > 60}  # the least-squares line
    return {
        "background luminance": relative_luminance(background),
        "text": strongest(colours(page, TICK_LABELS), background),
        "axes": contrast_ratio(most_common(colours(page, LEFT_AXIS), [background]), background),
        "points": contrast_ratio(most_common(panel, [background, ORANGE]), background),
        # a square stands out by its fill or by its outline, whichever contrasts more
        "minibatch": max(contrast_ratio(c, background) for c in (ORANGE, EDGE) if c in panel),
        # the line's own colour: its most common pixel (its crossings are darker or lighter)
        "least squares": contrast_ratio(most_common(blue), background) if blue else 0.0,
    }


@pytest.mark.parametrize("mode", MODES)
def test_explorer_follows_the_theme_with_readable_contrast(chromium, book_server, mode):
    page = open_in_mode(chromium, book_server, "book/explorer.html", mode, scale=2)
    element = explorer(page)
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    assert element.get_attribute("data-scheme") == mode
    measured = canvas_contrasts(page)
    if mode == "dark":
        assert measured["background luminance"] < 0.02, measured  # the page's own dark
    else:
        assert measured["background luminance"] > 0.95, measured
    assert measured["text"] >= 4.5, measured
    for part in ("axes", "points", "minibatch", "least squares"):
        assert measured[part] >= 3, (part, measured)
    legend = element.locator(".explorer-legend").inner_text()
    assert ("Dashed white line" if mode == "dark" else "Dashed black line") in legend
    assert page.log.console_errors == [] and page.log.blocked_requests == []
    page.context.close()


def test_explorer_redraws_when_the_reader_switches_the_theme(chromium, book_server):
    page = open_in_mode(chromium, book_server, "book/explorer.html", "auto")  # light system
    element = explorer(page)
    light = colours(page, CORNER)
    draws = element.evaluate("e => e.__drawTimes.length")
    page.locator(".theme-switch-button:visible").first.click()  # from auto to dark
    page.wait_for_function(
        "() => document.querySelector('.regression-explorer').dataset.scheme === 'dark'"
    )
    assert element.evaluate("e => e.__drawTimes.length") > draws
    assert relative_luminance(most_common(colours(page, CORNER))) < 0.02
    assert relative_luminance(most_common(light)) > 0.95
    page.context.close()


def test_explorer_follows_the_system_setting_where_the_page_sets_no_theme(chromium, book_server):
    """In a notebook no data-theme is set: the explorer then follows prefers-color-scheme."""
    page = open_in_mode(chromium, book_server, "book/explorer.html", "light")
    element = explorer(page)
    page.emulate_media(color_scheme="dark")
    page.evaluate("document.documentElement.removeAttribute('data-theme')")
    page.wait_for_function(
        "() => document.querySelector('.regression-explorer').dataset.scheme === 'dark'"
    )
    page.emulate_media(color_scheme="light")
    page.wait_for_function(
        "() => document.querySelector('.regression-explorer').dataset.scheme === 'light'"
    )
    page.evaluate("document.body.dataset.jpThemeLight = 'false'")  # JupyterLab's dark theme
    page.wait_for_function(
        "() => document.querySelector('.regression-explorer').dataset.scheme === 'dark'"
    )
    assert relative_luminance(most_common(colours(page, CORNER))) < 0.02
    assert element.evaluate("e => e.__drawTimes.length") >= 4
    page.context.close()


def _ring(image, inset: int) -> list[tuple[int, ...]]:
    """The pixels of the rectangle `inset` pixels inside the image's edge."""
    width, height = image.size
    left, top, right, bottom = inset, inset, width - 1 - inset, height - 1 - inset
    xs, ys = range(left, right + 1), range(top, bottom + 1)
    ring = [(x, top) for x in xs] + [(x, bottom) for x in xs]
    ring += [(left, y) for y in ys] + [(right, y) for y in ys]
    return [image.getpixel(point) for point in ring]


# Whether every output image and all its ancestors are fully opaque (no fade under way).
FULLY_SHOWN = """() => [...document.querySelectorAll("article .cell_output img")].every((img) => {
  for (let e = img; e; e = e.parentElement) if (getComputedStyle(e).opacity !== "1") return false;
  return true;
})"""


def test_figures_sit_on_a_white_card_in_dark_mode(chromium, book_server):
    """Each output image, on every page, is framed by white, undimmed, on the dark page."""
    image_module = pytest.importorskip("PIL.Image")
    checked = 0
    for path in PAGES:
        page = open_in_mode(chromium, book_server, path, "dark")
        # the solutions' figures are inside dropdowns: open them, as a reader would
        page.evaluate(
            "document.querySelectorAll('.toggle-hidden')"
            ".forEach(e => e.classList.remove('toggle-hidden'))"
        )
        page.wait_for_function(FULLY_SHOWN)  # the dropdowns fade in
        # the figures of the reader's framework; the other frameworks' copies are hidden
        images = page.locator("article .cell_output img:visible")
        for index in range(images.count()):
            shot = _framed(page, images.nth(index))
            pixels = image_module.open(io.BytesIO(shot)).convert("RGB")
            page_ring, card_ring = _ring(pixels, 1), _ring(pixels, 4 + 6)  # padding: 8 px
            # dark around the card: the page itself, or a solution's dark box (luminance 0.021)
            assert max(map(relative_luminance, page_ring)) < 0.05, (path, index)
            assert min(map(relative_luminance, card_ring)) > 0.97, (path, index)
            assert images.nth(index).evaluate("e => getComputedStyle(e).filter") == "none"
            checked += 1
        page.context.close()
    assert checked >= 5  # the chapter's, the explorer's and the exercises' figures


def _framed(page, image) -> bytes:
    """A screenshot of an image element with 4 pixels of the page around it."""
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    clip = {"x": box["x"] - 4, "y": box["y"] - 4}
    clip.update(width=box["width"] + 8, height=box["height"] + 8)
    return page.screenshot(clip=clip)
