"""The explorer in JupyterLab with a live kernel: sliders redraw and Python sees their values.
Only the cells up to the explorer run (nbval runs them all here, classic Notebook in Colab's)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.runtimes.conftest import jupyter_server, run_new_cell
from tools.explorer_page import LABELS, watch

# How many examples the explorer's plot highlights as the minibatch, from its canvas's label
HIGHLIGHTED = "e => e.querySelector('canvas').ariaLabel.match(/(\\d+) minibatch examples/)[1]"
DONE = """() => ![...document.querySelectorAll('.jp-InputArea-prompt')]
  .some(p => p.textContent.includes('*'))"""  # no cell waits or runs


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> str:
    """JupyterLab, whose profile starts the notebook's kernel without asking."""
    tmp = tmp_path_factory.mktemp("lab")
    tracker = tmp / "home/config/lab/user-settings/@jupyterlab/notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"autoStartDefaultKernel": true}')
    command = [str(Path(sys.executable).parent / "jupyter-lab"), "--IdentityProvider.token="]
    command += ["--ServerApp.password=", "--LabApp.news_url=None"]
    with jupyter_server(command, tmp, whole=False) as url:
        yield url


def test_sliders_drive_the_plot_and_python_reads_them(browser, lab):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = watch(page, allowed=("http://127.0.0.1", "data:"))
    page.goto(f"{lab}/lab/tree/explorer.ipynb", wait_until="domcontentloaded")
    explorer = page.locator(".regression-explorer").first
    select_kernel = page.get_by_role("button", name="Select", exact=True)
    idle = page.get_by_text(re.compile(r"\|\s*Idle"))
    started = page.locator(".jp-InputArea-prompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    # A "Run All" issued before a new Lab is ready for commands is lost: wait for an idle
    # kernel, and issue it again while no cell has started.
    deadline, next_run = time.monotonic() + 240, time.monotonic()
    try:
        while not explorer.locator("canvas").is_visible():
            if select_kernel.is_visible():  # a profile that asks for a kernel despite the setting
                select_kernel.click()
            if idle.count() and not started.count() and time.monotonic() >= next_run:
                page.get_by_role("menuitem", name="Run").click()
                page.get_by_text("Run All Cells", exact=True).click()
                next_run = time.monotonic() + 20
            if time.monotonic() > deadline:
                pytest.fail("the explorer did not appear in JupyterLab within 4 minutes")
            page.wait_for_timeout(250)
        page.wait_for_function(DONE, timeout=120_000)
        assert explorer.evaluate(HIGHLIGHTED) == "32"
        # ipywidgets 8 handles carry role=slider; each must be named after its slider's label
        handles = explorer.evaluate(
            """e => [...e.closest('.widget-vbox').querySelectorAll('.widget-slider')]
            .map(s => [s.querySelector('.widget-label').textContent,
                       s.querySelector('[role=slider]')?.getAttribute('aria-label')])"""
        )
        assert handles and all(label == name for label, name in handles), handles
        page.get_by_role("slider", name=LABELS["batch_size"]).first.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"e => ({HIGHLIGHTED})(e) === '33'", arg=explorer.element_handle())
        code = 'print("batch", explorer.values["batch_size"], len(explorer.minibatch()))'
        run_new_cell(page, page.locator(".jp-Cell").last, code)
        output = page.locator(".jp-OutputArea-output", has_text="batch 33").first
        output.wait_for(timeout=60_000)
        assert "batch 33 33" in output.inner_text()
    finally:
        page.screenshot(path=str(ROOT / "_build" / "lab-explorer.png"))
    assert log.console_errors == [] and log.blocked_requests == [], log
    page.close()
