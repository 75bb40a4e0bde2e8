"""The explorer in the built, static page: no kernel, no network, Python's numbers, both themes.

The page ships no test code: what it drew is read from the canvas calls it made (recorded by
`RECORD_DRAWINGS`), from its pixels and from its text. Contrast is measured on the pixels with
the WCAG 2.1 formula: 4.5:1 for text, 3:1 for points, lines and axes (criteria 1.4.3, 1.4.11).
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from d2lsave import RegressionExplorer
from tests.book.conftest import contrast_ratio, in_mode, relative_luminance
from tools.explorer_page import (
    LABELS,
    LIVE_EXPLORER,
    RECORD_DRAWINGS,
    drawings,
    explorer,
    set_slider,
    slider,
    watch,
)

PAGE = "book/explorer.html"
ORANGE, EDGE = (230, 159, 0), (0, 0, 0)  # the minibatch: Okabe-Ito orange, black outline


@dataclass
class Plot:
    """A drawing of both panels, in CSS pixels: each point's and minibatch square's corner
    (panel, example, x/y), and the ends of the true and least-squares lines (panel, line, 4)."""

    points: np.ndarray
    batch: np.ndarray
    lines: np.ndarray
    readout: str = ""


def drawn(page) -> Plot:
    """What the live explorer drew last, as its canvas calls and its readout have it."""
    plot = page.evaluate("() => window.__plot")
    rects = np.array(plot["rects"][1:])  # after the background
    lines = np.array(plot["lines"])
    right = rects[:, 0] > 400  # the second panel starts at x = 440
    return Plot(
        points=np.stack([rects[(right == k) & (rects[:, 2] == 3), :2] for k in (0, 1)]),
        batch=np.stack([rects[(right == k) & (rects[:, 2] == 8), :2] for k in (0, 1)]),
        lines=np.stack([lines[(lines[:, 0] > 400) == k] for k in (0, 1)]),
        readout=explorer(page).locator(".explorer-readout").inner_text(),
    )


def expected(python: RegressionExplorer) -> Plot:
    """The drawing the page must make of Python's draws: the page's own arithmetic, in float64
    and in the same order, so that equal draws give equal coordinates to the last bit."""
    v, limit = python.values, python.y_limit
    features, noise, _ = (a.numpy() for a in python.draws())
    x1, x2 = features[: v["n"], 0].astype(float), features[: v["n"], 1].astype(float)
    y = x1 * v["w1"] + x2 * v["w2"] + v["b"] + v["noise"] * noise[: v["n"]].astype(float)

    def corner(x, left, y, half):
        return np.stack([left + ((x + 4) / 8) * 300 - half, py(y, limit) - half], axis=-1)

    batch = python.minibatch().numpy()
    b = v["b"]
    lines = [
        [[left, py(-4 * w + b, limit), left + 300, py(4 * w + b, limit)]]
        for left, w in ((60, v["w1"]), (440, v["w2"]))
    ]
    return Plot(
        points=np.stack([corner(x1, 60, y, 1.5), corner(x2, 440, y, 1.5)]),
        batch=np.stack([corner(x1[batch], 60, y[batch], 4), corner(x2[batch], 440, y[batch], 4)]),
        lines=np.array(lines),
    )


def py(value, limit: float):
    """The canvas row of a label: the panels span rows 12 to 252 for labels -limit to limit."""
    return 252 - ((value + limit) / (2 * limit)) * 240


def assert_draws_as_python(page, python: RegressionExplorer) -> None:
    """The page drew the points, minibatch and true lines Python computes, and a least-squares
    line within 1e-5 of Python's."""
    plot, want = drawn(page), expected(python)
    for got, wanted in ((plot.points, want.points), (plot.batch, want.batch)):
        np.testing.assert_array_equal(got[..., 0], wanted[..., 0])  # the features, bit for bit
        # the labels: a slider's value may differ from Python's in its last bit (a float32
        # draw that differs in its last bit moves a label by more than 1e-9 pixels)
        np.testing.assert_allclose(got[..., 1], wanted[..., 1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(plot.lines[:, :1], want.lines, rtol=0, atol=1e-9)
    fit, limit = python.fit(), python.y_limit
    at = (252 - plot.lines[:, 1, [1, 3]]) / 240 * 2 * limit - limit  # labels at x = -4 and 4
    np.testing.assert_allclose(
        [*(at[:, 1] - at[:, 0]) / 8, *at.mean(axis=1)],
        [fit["w1_hat"], fit["w2_hat"], fit["b_hat"], fit["b_hat"]],
        atol=1e-5,
    )


@pytest.fixture
def live(page):
    """The explorer's page, its live explorer drawn."""
    page.goto(PAGE, wait_until="networkidle")
    explorer(page)
    return page


pytestmark = pytest.mark.browser


def test_explorer_renders_with_its_defaults_as_python_does(live):
    python = RegressionExplorer(seed=0)  # the page's explorer is built with seed 0
    assert_draws_as_python(live, python)
    assert "32 minibatches per epoch (the last holds 8)" in drawn(live).readout
    label = live.locator(f"{LIVE_EXPLORER} canvas").get_attribute("aria-label")
    assert "1000 labels" in label and "32 minibatch examples highlighted" in label
    for name, value in python.values.items():
        shown = slider(live, name).locator(".widget-readout").inner_text()
        assert float(shown.replace("\u2212", "-")) == pytest.approx(value), name
    assert live.context.log.console_errors == [] and live.context.log.blocked_requests == []


def test_sliders_have_labels_and_move_from_the_keyboard(live):
    for name, label in LABELS.items():
        assert live.get_by_role("slider", name=label).count() == 1, name
    before = drawings(live)
    live.get_by_role("slider", name=LABELS["batch_size"]).focus()
    live.keyboard.press("ArrowRight")
    live.wait_for_function("n => window.__drawings.length > n", arg=before)
    assert drawn(live).batch.shape[1] == 33
    assert live.context.log.console_errors == []


# The canvas's boxes, in CSS pixels: the left panel spans x 60-360 and y 12-252.
CORNER, TICK_LABELS = (1, 1, 6, 6), (0, 0, 58, 300)  # labels: left of the left panel
LEFT_AXIS, PANEL = (59, 20, 2, 100), (62, 14, 296, 236)  # its frame; points and lines


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


def background(page) -> tuple[int, ...]:
    corner = colours(page, CORNER)
    return max(corner, key=corner.get)


def orange_row(page) -> float:
    """The mean row, in device pixels, of the minibatch's orange pixels."""
    return float(np.nonzero((pixels(page) == ORANGE).all(axis=-1))[0].mean())


def test_each_slider_changes_the_plot_as_it_should_on_fixed_axes(live):
    base, axes = drawn(live), colours(live, TICK_LABELS)
    set_slider(live, "batch_size", 33)
    assert "31 minibatches per epoch (the last holds 10)" in drawn(live).readout
    set_slider(live, "n", 2000)
    state = drawn(live)
    assert state.points.shape[1] == 2000 and state.batch.shape[1] == 33
    np.testing.assert_array_equal(state.points[:, :1000, 0], base.points[:, :, 0])
    rows = orange_row(live)
    set_slider(live, "b", -4.2)  # from 4.2: 8.4 label units down, 33.6 px on 240 px for 60
    shifted = drawn(live)
    np.testing.assert_allclose(shifted.points[..., 1] - state.points[..., 1], 33.6, atol=1e-9)
    scale = pixels(live).shape[0] / 300
    assert orange_row(live) - rows == pytest.approx(33.6 * scale, abs=1.5)  # on screen too
    set_slider(live, "noise", 1)
    noisy = drawn(live)
    assert not np.array_equal(noisy.points[..., 1], shifted.points[..., 1])
    np.testing.assert_array_equal(noisy.points[..., 0], shifted.points[..., 0])
    np.testing.assert_array_equal(noisy.batch[..., 0], shifted.batch[..., 0])
    for name, value in (("w1", 0.5), ("w2", 0.5), ("seed", 7)):
        previous = drawn(live)
        set_slider(live, name, value)
        assert not np.array_equal(drawn(live).points[..., 1], previous.points[..., 1]), name
    assert colours(live, TICK_LABELS) == axes  # the axes never change
    assert live.context.log.console_errors == []


def test_page_and_python_draw_the_same_numbers(live):
    settings = {"noise": 0.7, "batch_size": 17, "n": 450, "w1": -1.2, "w2": 3.3, "b": 2.5}
    for name, value in {**settings, "seed": 42}.items():
        set_slider(live, name, value)
    python = RegressionExplorer(seed=0)
    python.set(**settings, seed=42)
    assert_draws_as_python(live, python)
    assert "n = 450 examples (seed 42)" in drawn(live).readout


def test_the_seed_slider_draws_new_data_offline_as_python_does(live):
    first = drawn(live)
    live.get_by_role("slider", name=LABELS["seed"]).focus()
    live.keyboard.press("ArrowRight")
    live.wait_for_function("n => window.__drawings.length > n", arg=1)
    second = drawn(live)
    assert "(seed 1)" in second.readout
    for a, b in ((first.points, second.points), (first.batch, second.batch)):
        assert not np.array_equal(a, b)
    set_slider(live, "n", 10_000)
    python = RegressionExplorer(seed=0)
    for seed in (999, 0, 1):
        set_slider(live, "seed", seed)
        python.set(seed=seed, n=10_000)
        assert_draws_as_python(live, python)  # bit for bit: the same float32 draws
    assert live.context.log.console_errors == [] and live.context.log.blocked_requests == []


def test_explorer_works_opened_from_disk(new_context, built_book):
    """Readers may open the HTML straight from disk, with no web server and no network."""
    context = new_context()
    log = watch(context, allowed=("file://", "data:", "blob:"))
    context.add_init_script(RECORD_DRAWINGS)
    page = context.new_page()
    page.goto((built_book / PAGE).as_uri(), wait_until="load")
    explorer(page)
    page.get_by_role("slider", name=LABELS["batch_size"]).focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__plot.rects.length === 1 + 2 * 1000 + 2 * 33")
    assert page.locator(".katex math").count() > 0
    assert log.console_errors == [] and log.blocked_requests == []


def test_classroom_tasks_are_numbered_on_their_own(built_book):
    """The tasks are not numbered as the chapter's exercises, and each answer has a title."""
    html = (built_book / PAGE).read_text()
    titles = re.findall(r'<p class="admonition-title">(.*?)</p>', html)
    kinds = ("Classroom task {}", "Answer to classroom task {}")
    assert titles == [kind.format(k) for k in range(1, 5) for kind in kinds]
    assert "exercise admonition" not in html and "solution admonition" not in html


def test_answers_open_from_the_keyboard(live):
    answer = live.get_by_text("They grow ten-fold too")
    assert not answer.is_visible()
    live.locator(".dropdown.admonition", has=answer).locator("button").first.focus()
    live.keyboard.press("Enter")
    answer.wait_for(state="visible", timeout=5_000)
    # Ten times the noise gives ten times the error (the page derives it), to the digits shown.
    assert "a ratio of 10.000;" in answer.inner_text()


# A slider as ipywidgets 7 draws it (classic Notebook, Colab): a jQuery UI handle, no ARIA role.
JQUERY_UI_SLIDER = """e => {
  const slider = document.createElement("div");
  slider.className = "widget-slider widget-hslider";
  slider.innerHTML = '<label class="widget-label">data seed</label>' +
    '<div class="slider ui-slider"><span class="ui-slider-handle" tabindex="0"></span></div>';
  e.closest(".widget-vbox").append(slider);
  return slider.querySelector(".ui-slider-handle").hasAttribute("role");
}"""


def test_jquery_ui_handles_become_named_sliders_that_follow_the_value(live):
    """ipywidgets 7 handles get the slider role, their label and range, and the current value."""
    assert explorer(live).evaluate(JQUERY_UI_SLIDER) is False
    handle = live.locator(".widget-slider .ui-slider-handle")
    for seed in (7, 12):
        set_slider(live, "seed", seed)
        assert handle.get_attribute("role") == "slider"
        assert handle.get_attribute("aria-label") == LABELS["seed"]
        aria = ("aria-valuemin", "aria-valuemax", "aria-valuenow")
        assert [handle.get_attribute(name) for name in aria] == ["0", "999", str(seed)]


CANVAS = """e => ({box: e.querySelector("canvas").getBoundingClientRect().toJSON(),
                picture: e.querySelector("canvas").toDataURL(),
                readout: e.querySelector(".explorer-readout").textContent})"""
# Counts, at every frame the browser draws, the frames in which not exactly one plot shows.
COUNT_FRAMES_WITHOUT_ONE_PLOT = """() => {
  window.__frames = {seen: 0, withoutOnePlot: 0};
  const tick = () => {
    const shown = [...document.querySelectorAll(".regression-explorer canvas")]
      .filter((canvas) => canvas.offsetParent !== null);
    window.__frames.seen++;
    if (shown.length !== 1) window.__frames.withoutOnePlot++;
    if (!window.__stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_the_first_plot_comes_before_the_widget_manager_and_stays_where_it_is(page):
    """The preview draws the default plot from the stored state while the widget manager is
    still loading; the live explorer then takes its place, at the same spot and the same
    picture and the same readout, with no frame showing no plot or two."""
    held = []
    page.route("**/_static/widgets/manager.js*", lambda route: held.append(route))
    page.goto(PAGE, wait_until="commit")
    page.wait_for_selector(".widget-preview .regression-explorer canvas")
    preview = page.locator(".widget-preview .regression-explorer").evaluate(CANVAS)
    assert page.locator(".widget-slider").count() == 0 and len(held) == 1  # nothing live yet
    page.evaluate(COUNT_FRAMES_WITHOUT_ONE_PLOT)
    held[0].fallback()
    live = explorer(page)
    assert page.locator(".widget-preview").count() == 0
    frames = page.evaluate("() => { window.__stop = true; return window.__frames; }")
    assert frames["seen"] > 0 and frames["withoutOnePlot"] == 0, frames
    assert live.evaluate(CANVAS) == preview
    assert page.context.log.console_errors == []


def most_common(counts: dict, excluding=()) -> tuple[int, ...]:
    return max((c for c in counts if c not in excluding), key=counts.get)


@pytest.mark.browser_context_args(device_scale_factor=2)  # one-pixel lines are whole pixels
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_explorer_follows_the_theme_with_readable_contrast(page, mode):
    in_mode(page, mode).goto(PAGE, wait_until="networkidle")
    element = explorer(page)
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    back = background(page)
    dark = relative_luminance(back) < 0.02  # the page's own dark
    assert dark if mode == "dark" else relative_luminance(back) > 0.95
    panel = colours(page, PANEL)
    blue = {c: n for c, n in panel.items() if c[2] - c[0] > 60}  # the least-squares line
    text = max(contrast_ratio(c, back) for c in colours(page, TICK_LABELS))
    assert text >= 4.5
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
    assert page.context.log.console_errors == [] and page.context.log.blocked_requests == []


DARK_CORNER = f"""dark => {{
  const canvas = document.querySelector("{LIVE_EXPLORER} canvas");
  const red = canvas.getContext("2d").getImageData(1, 1, 1, 1).data[0];
  return dark ? red < 40 : red > 200;
}}"""


def test_explorer_redraws_when_the_reader_switches_the_theme(page):
    in_mode(page, "auto").goto(PAGE, wait_until="networkidle")  # a light system
    explorer(page)
    assert relative_luminance(background(page)) > 0.95
    page.locator(".theme-switch-button:visible").first.click()  # from auto to dark
    page.wait_for_function(DARK_CORNER, arg=True)
    assert relative_luminance(background(page)) < 0.02


def test_explorer_follows_the_system_setting_where_the_page_sets_no_theme(page):
    """In a notebook no data-theme is set: the explorer follows prefers-color-scheme, and
    JupyterLab's dark theme."""
    in_mode(page, "light").goto(PAGE, wait_until="networkidle")
    explorer(page)
    page.emulate_media(color_scheme="dark")
    page.evaluate("document.documentElement.removeAttribute('data-theme')")
    page.wait_for_function(DARK_CORNER, arg=True)
    page.emulate_media(color_scheme="light")
    page.wait_for_function(DARK_CORNER, arg=False)
    page.evaluate("document.body.dataset.jpThemeLight = 'false'")  # JupyterLab's dark theme
    page.wait_for_function(DARK_CORNER, arg=True)
    assert relative_luminance(background(page)) < 0.02
