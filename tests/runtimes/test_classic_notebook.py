"""The explorer in Colab's front end generation: classic Notebook, ipywidgets 7, anywidget 0.9.

Colab renders widgets with ipywidgets 7 (pinned there), whose sliders are jQuery UI sliders, not
the noUiSlider ones of ipywidgets 8 that JupyterLab and the HTML book show. This opens the
explorer notebook in the classic Notebook of the Colab-like environment (tools/colab_runtime.txt:
notebook, widgetsnbextension 3.6 and anywidget 0.9, with a live kernel), runs it from the menu,
and checks what a reader does there: each slider handle is announced by its label, moving
it with the keyboard redraws the plot, and the kernel reads the new value.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.runtimes.conftest import fresh_explorer, jupyter_server
from tools import colab_smoke
from tools.explorer_page import watch

pytestmark = pytest.mark.colab
SCREENSHOT = ROOT / "_build" / "classic-explorer.png"
# The explorer's sliders, each with its label, handle, readout and the handle's ARIA state.
SLIDERS = """e => [...(e.closest('.widget-vbox') || document).querySelectorAll('.widget-slider')]
  .map(s => {
    const h = s.querySelector('[role=slider]');
    return {label: s.querySelector('.widget-label').textContent,
            readout: s.querySelector('.widget-readout').textContent,
            role: h && h.getAttribute('role'), name: h && h.getAttribute('aria-label'),
            min: h && h.getAttribute('aria-valuemin'), max: h && h.getAttribute('aria-valuemax'),
            now: h && h.getAttribute('aria-valuenow')};
  })"""
# What classic Notebook itself logs on this notebook: a missing custom.js, CodeMirror modes it
# looks up for the MyST directives ({admonition}, ...) fenced in markdown cells, and a font
# its style sheets point at about:blank.
NOTEBOOK_NOISE = (
    "Failed to load resource:",
    "Refused to execute script from",
    "Access to font at 'about:blank'",
)
PLOT = "e => e.querySelector('canvas').toDataURL()"  # what the plot shows now
IDLE = """() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel
  && Jupyter.notebook.kernel.is_connected() && !Jupyter.notebook.kernel_busy
  && ![...document.querySelectorAll('.input_prompt')].some(p => p.textContent.includes('*'))"""


@pytest.fixture(scope="module")
def classic(tmp_path_factory) -> Iterator[str]:
    """Classic Notebook of the Colab-like environment on a scratch copy of the explorer."""
    try:
        venv = colab_smoke.prepare()
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))
    wheel = colab_smoke.build_wheel()
    folder = tmp_path_factory.mktemp("classic")
    fresh_explorer(folder)
    home = tmp_path_factory.mktemp("jupyter-home")  # no user settings or extensions
    environment = dict(
        os.environ,
        D2LSAVE_WHEEL=str(wheel),
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
    )
    command = [
        str(venv / "bin" / "jupyter-notebook"),
        "--NotebookApp.token=",
        "--NotebookApp.password=",
    ]
    try:
        with jupyter_server(command, folder, environment) as url:
            yield url
    finally:
        colab_smoke.reset(venv)  # uninstall what the first cell added


def run_all(page) -> None:
    """Run every cell from the Cell menu, and wait until the kernel is done."""
    page.wait_for_function(IDLE, timeout=120_000)
    page.click("#celllink")
    page.click("#run_all_cells")
    page.wait_for_selector(".regression-explorer canvas", timeout=300_000)
    page.wait_for_function(IDLE, timeout=300_000)


def kernel_values(page) -> dict:
    """What `explorer.values` says in a new cell at the end of the notebook."""
    page.locator(".cell").last.locator(".prompt").first.click()  # select the last cell
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a code cell below it
    page.keyboard.press("Enter")
    page.keyboard.type("explorer.values")
    page.keyboard.press("Shift+Enter")
    output = page.locator(".cell").nth(-2).locator(".output_subarea").last
    output.wait_for(timeout=60_000)
    return ast.literal_eval(output.inner_text().strip())


def test_sliders_are_named_move_from_the_keyboard_and_reach_the_kernel(browser, classic):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = watch(page, allowed=("http://127.0.0.1", "data:"))
    page.goto(f"{classic}/notebooks/explorer.ipynb", wait_until="domcontentloaded")
    try:
        run_all(page)
        explorer = page.locator(".regression-explorer").first
        sliders = explorer.evaluate(SLIDERS)
        assert len(sliders) >= 6, sliders
        for slider in sliders:  # every handle is a slider named by its label, with its values
            assert slider["role"] == "slider" and slider["name"] == slider["label"], slider
            assert None not in (slider["min"], slider["max"], slider["now"]), slider
            assert float(slider["now"]) == float(slider["readout"]), slider
        moved = []
        for slider in sliders:
            before = explorer.evaluate(PLOT)
            page.get_by_role("slider", name=slider["label"], exact=True).focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                f"old => ({PLOT})(document.querySelector('.regression-explorer')) !== old",
                arg=before,
                timeout=10_000,
            )
            now = {s["label"]: s for s in explorer.evaluate(SLIDERS)}[slider["label"]]
            assert float(now["readout"]) > float(slider["readout"]), now
            assert float(now["now"]) == float(now["readout"]), now
            moved.append(float(now["readout"]))
        # explorer.values lists the sliders in the order the page shows them
        assert list(kernel_values(page).values()) == pytest.approx(moved, abs=0.005)
    finally:
        if page.locator(".regression-explorer").count():
            page.locator(".regression-explorer").first.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOT))
    assert log.blocked_requests == [], log
    assert [e for e in log.console_errors if not e.startswith(NOTEBOOK_NOISE)] == [], log
    page.close()
