"""The explorer in the built, static page: no kernel and no network."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from d2lsave import RegressionExplorer
from tools.explorer_page import (
    LABELS,
    drawn,
    explorer,
    painted_rows,
    set_slider,
    slider,
    watch,
)


@pytest.fixture
def page(offline_page, book_server):
    offline_page.goto(f"{book_server}/book/explorer.html", wait_until="networkidle")
    explorer(offline_page)
    return offline_page


def test_explorer_renders_with_its_defaults(page):
    state = drawn(page)
    assert state["dataset"]["points"] == "1000" and state["dataset"]["highlighted"] == "32"
    assert "32 minibatches per epoch (the last holds 8)" in state["readout"]
    assert page.locator(".regression-explorer canvas").is_visible()
    assert page.log.console_errors == [] and page.log.blocked_requests == []


def test_sliders_have_labels_and_move_from_the_keyboard(page):
    for name, label in LABELS.items():
        handle = page.get_by_role("slider", name=label)
        assert handle.count() == 1, name
    before = drawn(page)
    page.get_by_role("slider", name=LABELS["batch_size"]).focus()
    page.keyboard.press("ArrowRight")
    after = drawn(page)
    assert after["dataset"]["highlighted"] == "33" and after["draws"] > before["draws"]
    assert page.log.console_errors == []


def test_each_slider_changes_the_plot_as_it_should(page):
    base = drawn(page)
    set_slider(page, "batch_size", 33)
    state = drawn(page)
    assert (
        len(state["batch"]) == 33
        and "31 minibatches per epoch (the last holds 10)" in state["readout"]
    )
    set_slider(page, "n", 2000)
    state = drawn(page)
    assert state["dataset"]["points"] == "2000" and len(state["y"]) == 2000
    assert state["x1"][:1000] == base["x1"]
    set_slider(page, "b", -4.2)
    shifted = drawn(page)
    np.testing.assert_allclose(np.subtract(shifted["y"], state["y"]), -8.4, rtol=0, atol=1e-9)
    set_slider(page, "noise", 1)
    noisy = drawn(page)
    assert noisy["noise"] == 1 and noisy["y"] != shifted["y"]
    assert noisy["x1"] == shifted["x1"] and noisy["batch"] == shifted["batch"]
    for name in ("w1", "w2"):
        previous = drawn(page)
        set_slider(page, name, 0.5)
        current = drawn(page)
        assert current[name] == 0.5 and current["y"] != previous["y"]
    assert page.log.console_errors == []


def test_page_and_python_draw_the_same_numbers(page):
    settings = {
        "noise": 0.7,
        "batch_size": 17,
        "n": 450,
        "w1": -1.2,
        "w2": 3.3,
        "b": 2.5,
        "seed": 42,
    }
    for name, value in settings.items():
        set_slider(page, name, value)
    state = drawn(page)
    for key in ("noise", "n", "w1", "w2", "b", "seed"):
        assert state[key] == pytest.approx(settings[key], abs=1e-9), key
    python = RegressionExplorer(seed=0)  # the page's explorer is built with seed 0
    # the page's values, which may differ from the typed ones in the last bit of a float
    python.set(
        **{key: state[key] for key in ("noise", "n", "w1", "w2", "b", "seed")},
        batch_size=state["batchSize"],
    )
    X, y = python.data()
    np.testing.assert_array_equal(state["x1"], X[:, 0].numpy())
    np.testing.assert_array_equal(state["x2"], X[:, 1].numpy())
    np.testing.assert_array_equal(state["eta"], python.draws()[1][:450].numpy())
    np.testing.assert_allclose(state["y"], y[:, 0].numpy(), rtol=1e-6, atol=1e-5)
    assert state["batch"] == python.minibatch().tolist()
    fit = python.fit()
    for key, value in (("w1", fit["w1_hat"]), ("w2", fit["w2_hat"]), ("b", fit["b_hat"])):
        assert state["fit"][key] == pytest.approx(value, abs=1e-5)
    assert math.isclose(state["fit"]["b"] - state["b"], fit["b_error"], abs_tol=1e-5)


def test_the_seed_slider_draws_new_data_offline_as_python_does(page):
    first = drawn(page)
    page.get_by_role("slider", name=LABELS["seed"]).focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.querySelector('.regression-explorer').dataset.seed === '1'"
    )
    second = drawn(page)
    assert second["seed"] == 1 and "(seed 1)" in second["readout"]
    assert second["x1"] != first["x1"] and second["y"] != first["y"]
    assert second["batch"] != first["batch"] and second["fit"] != first["fit"]
    set_slider(page, "n", 10_000)
    python = RegressionExplorer(seed=0)
    for seed in (999, 0, 1):
        set_slider(page, "seed", seed)
        state = drawn(page)
        python.set(seed=seed, n=state["n"])
        features, noise, _ = python.draws()
        assert state["seed"] == seed and state["n"] == 10_000
        # bit for bit: the page's generator repeats Python's with exactly rounded operations
        np.testing.assert_array_equal(state["x1"], features[:, 0].numpy())
        np.testing.assert_array_equal(state["x2"], features[:, 1].numpy())
        np.testing.assert_array_equal(state["eta"], noise.numpy())
        assert state["batch"] == python.minibatch().tolist()
        assert state["fit"]["w1"] - state["w1"] == pytest.approx(python.fit()["w1_error"], abs=1e-6)
    assert page.log.console_errors == [] and page.log.blocked_requests == []


def test_axes_stay_put_and_the_points_move(page):
    """Moving b, w1 or w2 moves the points on screen; the axes never change."""
    python = RegressionExplorer(seed=0)
    limits = ("-30", "30")
    base = drawn(page)
    assert (base["dataset"]["axisMin"], base["dataset"]["axisMax"]) == limits
    assert python.y_limit == 30
    height = explorer(page).evaluate("e => e.querySelector('canvas').height")
    rows = painted_rows(page)
    set_slider(page, "b", -4.2)
    # 8.4 label units down on a 240-pixel panel spanning 60 units
    expected = 8.4 / 60 * 240 * height / 300
    assert painted_rows(page) - rows == pytest.approx(expected, abs=1.5)
    for name, value in (("w1", 5), ("w2", -5), ("noise", 3), ("n", 5000), ("seed", 7)):
        before = painted_rows(page)
        set_slider(page, name, value)
        state = drawn(page)
        assert (state["dataset"]["axisMin"], state["dataset"]["axisMax"]) == limits, name
        if name in ("w1", "w2"):
            assert painted_rows(page) != before, name
    assert page.log.console_errors == []


def test_slider_readouts_show_the_python_defaults(page):
    python = RegressionExplorer(seed=0)
    for name, value in python.values.items():
        shown = slider(page, name).locator(".widget-readout").inner_text()
        assert float(shown.replace("\u2212", "-")) == pytest.approx(value), name


def test_explorer_works_opened_from_disk(chromium, built_book):
    """Readers may open the HTML straight from disk, with no web server and no network."""
    page = chromium.new_page()
    log = watch(page, allowed=("file://", "data:", "blob:"))
    page.goto((built_book / "book" / "explorer.html").as_uri(), wait_until="load")
    explorer(page)
    page.get_by_role("slider", name=LABELS["batch_size"]).focus()
    page.keyboard.press("ArrowRight")
    assert drawn(page)["dataset"]["highlighted"] == "33"
    assert page.locator(".katex math").count() > 0
    assert log.console_errors == [] and log.blocked_requests == []
    page.close()


def test_classroom_tasks_are_numbered_on_their_own(built_book):
    """The tasks are not numbered as the chapter's exercises, and each answer has a title."""
    html = (built_book / "book" / "explorer.html").read_text()
    titles = re.findall(r'<p class="admonition-title">(.*?)</p>', html)
    expected = [
        title
        for k in range(1, 5)
        for title in (f"Classroom task {k}", f"Answer to classroom task {k}")
    ]
    assert titles == expected
    assert "exercise admonition" not in html and "solution admonition" not in html


def test_answers_open_from_the_keyboard(page):
    answer = page.get_by_text("They grow ten-fold too")
    assert not answer.is_visible()
    toggle = page.locator(".dropdown.admonition", has=answer).locator("button").first
    toggle.focus()
    page.keyboard.press("Enter")
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


def test_jquery_ui_handles_become_named_sliders_that_follow_the_value(page):
    """ipywidgets 7 handles get the slider role, their label and range, and the current value."""
    assert explorer(page).evaluate(JQUERY_UI_SLIDER) is False
    set_slider(page, "seed", 7)
    handle = page.locator(".widget-slider .ui-slider-handle")
    assert handle.get_attribute("role") == "slider"
    assert handle.get_attribute("aria-label") == LABELS["seed"]
    assert (handle.get_attribute("aria-valuemin"), handle.get_attribute("aria-valuemax")) == (
        "0",
        "999",
    )
    assert handle.get_attribute("aria-valuenow") == "7"
    set_slider(page, "seed", 12)
    assert handle.get_attribute("aria-valuenow") == "12"


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


def test_the_first_plot_comes_before_the_widget_manager_and_stays_where_it_is(
    offline_page, book_server
):
    """The preview draws the default plot from the stored state while the widget manager is
    still loading; the live explorer then takes its place, at the same spot and the same
    picture and the same readout, with no frame showing no plot or two."""
    held = []
    offline_page.route("**/_static/widgets/manager.js*", lambda route: held.append(route))
    offline_page.goto(f"{book_server}/book/explorer.html", wait_until="commit")
    offline_page.wait_for_selector(".widget-preview .regression-explorer canvas")
    preview = offline_page.locator(".widget-preview .regression-explorer").evaluate(CANVAS)
    assert offline_page.locator(".widget-slider").count() == 0  # nothing live yet
    assert len(held) == 1
    offline_page.evaluate(COUNT_FRAMES_WITHOUT_ONE_PLOT)
    held[0].continue_()
    live = explorer(offline_page)
    assert offline_page.locator(".widget-preview").count() == 0
    frames = offline_page.evaluate("() => { window.__stop = true; return window.__frames; }")
    assert frames["seen"] > 0 and frames["withoutOnePlot"] == 0, frames
    assert live.evaluate(CANVAS) == preview
    assert offline_page.log.console_errors == []
