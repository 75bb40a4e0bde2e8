"""The explorer in the built page opened from disk: no kernel, no network, Python's numbers, both
themes.
What it drew is read from its canvas calls (`RECORD_DRAWINGS`), its pixels and its text; its
contrast by WCAG 2.1: 4.5:1 for text, 3:1 for points, lines and axes (1.4.3, 1.4.11)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from d2lsave import RegressionExplorer
from tests.book.conftest import contrast_ratio, open_page, relative_luminance
from tools.explorer_page import LABELS, LIVE_EXPLORER, explorer, set_slider, slider

PAGE = "book/explorer.html"
ORANGE, EDGE = (230, 159, 0), (0, 0, 0)  # the minibatch: Okabe-Ito orange, black outline
# The canvas's boxes in CSS pixels (the left panel spans x 60-360, y 12-252): a corner, the
# tick labels left of the left panel, its frame, and the points and lines inside it.
CORNER, TICK_LABELS = (1, 1, 6, 6), (0, 0, 58, 300)
LEFT_AXIS, PANEL = (59, 20, 2, 100), (62, 14, 296, 236)


def drawn(page) -> dict[str, np.ndarray]:
    """The live explorer's last drawing in CSS pixels: the corners of each panel's points and
    minibatch squares (panel, example, x/y), and the ends of its lines (panel, line, 4)."""
    plot = page.evaluate("() => window.__plot")
    rects, lines = np.array(plot["rects"][1:]), np.array(plot["lines"])  # after the background
    right = rects[:, 0] > 400  # the second panel starts at x = 440
    return {
        "points": np.stack([rects[(right == k) & (rects[:, 2] == 3), :2] for k in (0, 1)]),
        "batch": np.stack([rects[(right == k) & (rects[:, 2] == 8), :2] for k in (0, 1)]),
        "lines": np.stack([lines[(lines[:, 0] > 400) == k] for k in (0, 1)]),
    }


def readout(page) -> str:
    return explorer(page).locator(".explorer-readout").inner_text()


def row(value, limit: float):
    """The canvas row of a label: the panels span rows 12 to 252 for labels -limit to limit."""
    return 252 - ((value + limit) / (2 * limit)) * 240


def assert_draws_as_python(page, python: RegressionExplorer) -> None:
    """The page drew Python's points, minibatch and true lines, computed here in float64 in the
    page's order (the features bit for bit), and a least-squares line within 1e-5 of Python's."""
    v, limit, plot = python.values, python.y_limit, drawn(page)
    features, noise, _ = (a.numpy().astype(float) for a in python.draws())
    x1, x2 = features[: v["n"], 0], features[: v["n"], 1]
    y = x1 * v["w1"] + x2 * v["w2"] + v["b"] + v["noise"] * noise[: v["n"]]
    batch = python.minibatch().numpy()
    for name, pick, half in (("points", slice(None), 1.5), ("batch", batch, 4)):
        left = [x0 + ((x[pick] + 4) / 8) * 300 - half for x0, x in ((60, x1), (440, x2))]
        np.testing.assert_array_equal(plot[name][..., 0], np.stack(left))
        # a slider's value may differ from Python's in its last bit: 1e-9 pixels
        wanted = np.broadcast_to(row(y[pick], limit) - half, plot[name][..., 1].shape)
        np.testing.assert_allclose(plot[name][..., 1], wanted, rtol=0, atol=1e-9)
    ends = [
        [x0, row(-4 * w + v["b"], limit), x0 + 300, row(4 * w + v["b"], limit)]
        for x0, w in ((60, v["w1"]), (440, v["w2"]))
    ]
    np.testing.assert_allclose(plot["lines"][:, 0], ends, rtol=0, atol=1e-9)
    at = (252 - plot["lines"][:, 1, [1, 3]]) / 240 * 2 * limit - limit  # labels at x = -4 and 4
    fit = python.fit()
    np.testing.assert_allclose(
        [*(at[:, 1] - at[:, 0]) / 8, *at.mean(axis=1)],
        [fit["w1_hat"], fit["w2_hat"], fit["b_hat"], fit["b_hat"]],
        atol=1e-5,
    )


def pixels(page) -> np.ndarray:
    """The live explorer's canvas as it is painted: (rows, columns, RGB) in device pixels."""
    url = page.evaluate(f"document.querySelector('{LIVE_EXPLORER} canvas').toDataURL()")
    png = io.BytesIO(base64.b64decode(url.split(",", 1)[1]))
    return np.asarray(Image.open(png).convert("RGB"))


def colours(page, box) -> dict[tuple[int, ...], int]:
    """How many pixels of each colour the canvas holds in a box given in CSS pixels."""
    image = pixels(page)
    x, y, width, height = (round(v * image.shape[1] / 760) for v in box)
    box = image[y : y + height, x : x + width].reshape(-1, 3)
    found, counts = np.unique(box, axis=0, return_counts=True)
    return {tuple(int(c) for c in colour): int(n) for colour, n in zip(found, counts, strict=True)}


def most_common(counts: dict, excluding=()) -> tuple[int, ...]:
    return max((c for c in counts if c not in excluding), key=counts.get)


def orange_row(page) -> float:
    """The mean row, in device pixels, of the minibatch's orange pixels."""
    return float(np.nonzero((pixels(page) == ORANGE).all(axis=-1))[0].mean())


def test_the_page_draws_what_python_draws_as_each_slider_moves_on_fixed_axes(page):
    live = open_page(page, PAGE)
    python = RegressionExplorer(seed=0)  # the page's explorer is built with seed 0
    assert_draws_as_python(live, python)
    assert "32 minibatches per epoch (the last holds 8)" in readout(live)
    label = live.locator(f"{LIVE_EXPLORER} canvas").get_attribute("aria-label")
    assert "1000 labels" in label and "32 minibatch examples highlighted" in label
    assert live.locator(".katex math").count() > 0  # its formulas, typeset
    assert [live.get_by_role("slider", name=label).count() for label in LABELS.values()] == [1] * 7
    for name, value in python.values.items():
        shown = slider(live, name).locator(".widget-readout").inner_text()
        assert float(shown.replace("\u2212", "-")) == pytest.approx(value), name
    first, axes = drawn(live), colours(live, TICK_LABELS)
    set_slider(live, "seed")  # from the keyboard: new draws, computed by the page
    assert "(seed 1)" in readout(live)
    assert not np.array_equal(first["points"], drawn(live)["points"])
    assert not np.array_equal(first["batch"], drawn(live)["batch"])
    set_slider(live, "batch_size")
    assert "31 minibatches per epoch (the last holds 10)" in readout(live)
    settings = {"noise": 0.7, "batch_size": 17, "n": 450, "w1": -1.2, "w2": 3.3, "b": 2.5}
    for name, value in {**settings, "seed": 42}.items():
        set_slider(live, name, value)
    python.set(**settings, seed=42)
    assert_draws_as_python(live, python)
    assert "n = 450 examples (seed 42)" in readout(live)
    before, rows = drawn(live), orange_row(live)
    set_slider(live, "b", -4.2)  # the points move down by 6.7 labels, on screen too
    shift = (2.5 + 4.2) / (2 * python.y_limit) * 240
    np.testing.assert_allclose(drawn(live)["points"][..., 1] - before["points"][..., 1], shift)
    scale = pixels(live).shape[0] / 300
    assert orange_row(live) - rows == pytest.approx(shift * scale, abs=1.5)
    set_slider(live, "n", 10_000)
    for seed in (999, 0, 1):
        set_slider(live, "seed", seed)
        python.set(seed=seed, n=10_000, b=-4.2)
        assert_draws_as_python(live, python)  # bit for bit: the same float32 draws
    assert colours(live, TICK_LABELS) == axes  # the axes never change
    answer = live.get_by_text("They grow ten-fold too")  # an answer opens from the keyboard
    assert not answer.is_visible()
    live.locator(".dropdown.admonition", has=answer).locator("button").first.focus()
    live.keyboard.press("Enter")
    answer.wait_for(state="visible", timeout=5_000)
    assert "a ratio of 10.000;" in answer.inner_text()  # derived by the page, as shown


def test_classroom_tasks_are_numbered_on_their_own(built_book):
    """The tasks are not numbered as the chapter's exercises, and each answer has a title."""
    html = (built_book / PAGE).read_text()
    titles = re.findall(r'<p class="admonition-title">(.*?)</p>', html)
    kinds = ("Classroom task {}", "Answer to classroom task {}")
    assert titles == [kind.format(k) for k in range(1, 5) for kind in kinds]
    assert "exercise admonition" not in html and "solution admonition" not in html


CANVAS = """e => ({box: e.querySelector("canvas").getBoundingClientRect().toJSON(),
                picture: e.querySelector("canvas").toDataURL(),
                readout: e.querySelector(".explorer-readout").textContent})"""
# Counts the frames the browser draws, those in which not exactly one plot shows, and those in
# which the live explorer has drawn (hidden) but its preview still stands in for it.
COUNT_FRAMES = """() => {
  window.__frames = {seen: 0, withoutOnePlot: 0, previewAfterLiveDrew: 0};
  const tick = () => {
    const shown = [...document.querySelectorAll(".regression-explorer canvas")]
      .filter((canvas) => canvas.offsetParent !== null);
    window.__frames.seen++;
    if (shown.length !== 1) window.__frames.withoutOnePlot++;
    if (window.__drawings.length && document.querySelector(".widget-preview")) {
      window.__frames.previewAfterLiveDrew++;
    }
    if (!window.__stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_the_first_plot_comes_before_the_widget_manager_and_stays_where_it_is(page):
    """The preview draws the stored state while the widget manager loads; the live explorer
    takes its place with the same box, picture and readout, no frame showing none or two."""
    held = []
    page.route("**/_static/widgets/manager.js*", lambda route: held.append(route))
    page.goto(PAGE, wait_until="commit")
    page.wait_for_selector(".widget-preview .regression-explorer canvas")
    preview = page.locator(".widget-preview .regression-explorer").evaluate(CANVAS)
    assert page.locator(".widget-slider").count() == 0 and len(held) == 1  # nothing live yet
    page.evaluate(COUNT_FRAMES)
    held[0].fallback()
    live = explorer(page)
    assert page.locator(".widget-preview").count() == 0
    frames = page.evaluate("() => { window.__stop = true; return window.__frames; }")
    assert frames["seen"] > 0 and frames["withoutOnePlot"] == 0, frames
    assert frames["previewAfterLiveDrew"] <= 1, frames  # the sliders are live as soon as drawn
    assert live.evaluate(CANVAS) == preview


DARK_CORNER = f"""dark => {{
  const canvas = document.querySelector("{LIVE_EXPLORER} canvas");
  const red = canvas.getContext("2d").getImageData(1, 1, 1, 1).data[0];
  return dark ? red < 40 : red > 200;
}}"""


@pytest.mark.browser_context_args(device_scale_factor=2)  # one-pixel lines are whole pixels
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_explorer_follows_the_theme_with_readable_contrast(page, mode):
    element = explorer(open_page(page, PAGE, mode))
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    back = most_common(colours(page, CORNER))
    assert relative_luminance(back) < 0.02 if mode == "dark" else relative_luminance(back) > 0.95
    panel = colours(page, PANEL)
    blue = {c: n for c, n in panel.items() if c[2] - c[0] > 60}  # the least-squares line
    assert max(contrast_ratio(c, back) for c in colours(page, TICK_LABELS)) >= 4.5
    parts = {
        "axes": contrast_ratio(most_common(colours(page, LEFT_AXIS), [back]), back),
        "points": contrast_ratio(most_common(panel, [back, ORANGE]), back),
        # a square stands out by its fill or by its outline, whichever contrasts more
        "minibatch": max(contrast_ratio(c, back) for c in (ORANGE, EDGE) if c in panel),
        # the line's own colour: its most common pixel (its crossings are darker or lighter)
        "least squares": contrast_ratio(most_common(blue), back) if blue else 0.0,
    }
    assert min(parts.values()) >= 3, parts
    legend = element.locator(".explorer-legend").inner_text()
    assert ("Dashed white line" if mode == "dark" else "Dashed black line") in legend
    if mode == "dark":  # the theme switch redraws it, here to light on a light system
        page.locator(".theme-switch-button:visible").first.click()
        page.wait_for_function(DARK_CORNER, arg=False)
        # with no data-theme (a notebook), it follows the system and JupyterLab's dark theme
        page.emulate_media(color_scheme="dark")
        page.evaluate("document.documentElement.removeAttribute('data-theme')")
        page.wait_for_function(DARK_CORNER, arg=True)
        page.emulate_media(color_scheme="light")
        page.wait_for_function(DARK_CORNER, arg=False)
        page.evaluate("document.body.dataset.jpThemeLight = 'false'")
        page.wait_for_function(DARK_CORNER, arg=True)
