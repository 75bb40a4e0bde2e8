"""The explorer's one run in Colab's front end (classic Notebook, ipywidgets 7's jQuery UI sliders):
the book's outputs, sliders named by their labels, moved by the keyboard, read by the kernel."""

from __future__ import annotations

import ast
import os

import nbformat
import pytest

from tests.conftest import ROOT
from tests.runtimes.conftest import jupyter_server, run_new_cell
from tools import colab_smoke
from tools.explorer_page import watch

pytestmark = pytest.mark.colab
# The explorer's sliders, each with its label, handle, readout and the handle's ARIA state.
SLIDERS = """e => [...(e.closest('.widget-vbox') || document).querySelectorAll('.widget-slider')]
  .map(s => {
    const h = s.querySelector('[role=slider]'), aria = name => h && h.getAttribute(name);
    return {label: s.querySelector('.widget-label').textContent,
            readout: s.querySelector('.widget-readout').textContent, role: aria('role'),
            name: aria('aria-label'), min: aria('aria-valuemin'), max: aria('aria-valuemax'),
            now: aria('aria-valuenow')};
  })"""
# What classic Notebook itself logs on this notebook: a missing custom.js, CodeMirror modes it
# looks up for the MyST directives fenced in markdown cells, and a font at about:blank.
NOTEBOOK_NOISE = (
    "Failed to load resource:",
    "Refused to execute script from",
    "Access to font at 'about:blank'",
)
PLOT = "e => e.querySelector('canvas').toDataURL()"  # what the plot shows now
REDRAWN = f"old => ({PLOT})(document.querySelector('.regression-explorer')) !== old"
IDLE = """() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel
  && Jupyter.notebook.kernel.is_connected() && !Jupyter.notebook.kernel_busy
  && ![...document.querySelectorAll('.input_prompt')].some(p => p.textContent.includes('*'))"""


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    """Classic Notebook of the Colab-like environment: its URL, folder and environment."""
    try:
        venv = colab_smoke.prepare()
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))
    tmp = tmp_path_factory.mktemp("classic")
    command = [str(venv / "bin" / "jupyter-notebook"), "--NotebookApp.token="]
    with colab_smoke.kernel_environment(venv, colab_smoke.build_wheel()):
        path = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
        with jupyter_server([*command, "--NotebookApp.password="], tmp, PATH=path) as url:
            yield url, tmp, venv


def test_explorer_prints_the_books_outputs_and_its_sliders_are_named_and_reach_the_kernel(
    browser, classic
):
    url, folder, venv = classic
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = watch(page, allowed=("http://127.0.0.1", "data:"))
    page.goto(f"{url}/notebooks/explorer.ipynb", wait_until="domcontentloaded")
    try:
        page.wait_for_function(IDLE, timeout=120_000)
        page.click("#celllink")
        page.click("#run_all_cells")
        page.wait_for_selector(".regression-explorer canvas", timeout=300_000)
        page.wait_for_function(IDLE, timeout=300_000)
        # saved, the run prints what the stored notebook does, as nbval compares them
        page.evaluate("async () => { await Jupyter.notebook.save_notebook(false); }")
        stored = nbformat.read(ROOT / "book" / colab_smoke.EXPLORER, as_version=4)
        ran = nbformat.read(folder / colab_smoke.EXPLORER, as_version=4)
        assert colab_smoke.differences(stored, ran) == []
        cells = colab_smoke.code_cells(stored)[1:]
        assert any(colab_smoke.printed(cell, []) for cell in cells if colab_smoke.compared(cell))
        explorer = page.locator(".regression-explorer").first
        sliders = explorer.evaluate(SLIDERS)
        assert len(sliders) >= 6, sliders
        moved = []
        for slider in sliders:  # every handle is a slider named by its label, with its values
            assert slider["role"] == "slider" and slider["name"] == slider["label"], slider
            assert None not in (slider["min"], slider["max"], slider["now"]), slider
            assert float(slider["now"]) == float(slider["readout"]), slider
            before = explorer.evaluate(PLOT)
            page.get_by_role("slider", name=slider["label"], exact=True).focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(REDRAWN, arg=before, timeout=10_000)
            now = {s["label"]: s for s in explorer.evaluate(SLIDERS)}[slider["label"]]
            assert float(now["readout"]) > float(slider["readout"]), now
            assert float(now["now"]) == float(now["readout"]), now
            moved.append(float(now["readout"]))
        # explorer.values lists the sliders in the order the page shows them
        run_new_cell(page, page.locator(".cell").last.locator(".prompt").first, "explorer.values")
        output = page.locator(".cell").nth(-2).locator(".output_subarea").last
        output.wait_for(timeout=60_000)
        values = ast.literal_eval(output.inner_text().strip())
        assert list(values.values()) == pytest.approx(moved, abs=0.005)
    finally:
        page.screenshot(path=str(ROOT / "_build" / "classic-explorer.png"))
    widgets = {name: colab_smoke.distributions(venv)[name] for name in ("anywidget", "ipywidgets")}
    assert widgets == {name: colab_smoke.COLAB[name] for name in widgets}
    assert log.blocked_requests == [], log
    assert [e for e in log.console_errors if not e.startswith(NOTEBOOK_NOISE)] == [], log
    page.close()
