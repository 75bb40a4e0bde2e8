"""The explorer in the built, static page: no kernel and no network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from d2lsave import RegressionExplorer
from tools.explorer_page import LABELS, drawn, explorer, set_slider, slider, watch


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
    assert float(shifted["dataset"]["yMin"]) == pytest.approx(
        float(state["dataset"]["yMin"]) - 8.4, abs=1e-6
    )
    assert float(shifted["dataset"]["yMax"]) == pytest.approx(
        float(state["dataset"]["yMax"]) - 8.4, abs=1e-6
    )
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
    settings = {"noise": 0.7, "batch_size": 17, "n": 450, "w1": -1.2, "w2": 3.3, "b": 2.5}
    for name, value in settings.items():
        set_slider(page, name, value)
    state = drawn(page)
    for key in ("noise", "n", "w1", "w2", "b"):
        assert state[key] == pytest.approx(settings[key], abs=1e-9), key
    python = RegressionExplorer(seed=0)  # the page's explorer is built with seed 0
    # the page's values, which may differ from the typed ones in the last bit of a float
    python.set(
        **{key: state[key] for key in ("noise", "n", "w1", "w2", "b")},
        batch_size=state["batchSize"],
    )
    X, y = python.data()
    np.testing.assert_allclose(state["x1"], X[:, 0].numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(state["x2"], X[:, 1].numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(state["y"], y[:, 0].numpy(), rtol=1e-6, atol=1e-5)
    assert state["batch"] == python.minibatch().tolist()
    fit = python.fit()
    for key, value in (("w1", fit["w1_hat"]), ("w2", fit["w2_hat"]), ("b", fit["b_hat"])):
        assert state["fit"][key] == pytest.approx(value, abs=1e-5)
    assert math.isclose(state["fit"]["b"] - state["b"], fit["b_error"], abs_tol=1e-5)


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
    assert page.locator("mjx-container").count() > 0
    assert log.console_errors == [] and log.blocked_requests == []
    page.close()
