"""The explorer in JupyterLab with a live kernel: sliders redraw and Python sees their values."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.runtimes.conftest import HIGHLIGHTED, fresh_explorer, jupyter_server
from tools.explorer_page import LABELS, watch


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> str:
    """JupyterLab on a scratch copy of the explorer notebook, so nothing in book/ changes."""
    folder = tmp_path_factory.mktemp("lab")
    fresh_explorer(folder)
    # Lab's own settings and workspaces live in the scratch folder too: a fresh profile that
    # starts the notebook's kernel without asking, whatever the machine's user has set.
    settings = tmp_path_factory.mktemp("lab-settings")
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"autoStartDefaultKernel": true}')
    environment = dict(
        os.environ,
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path_factory.mktemp("lab-workspaces")),
    )
    command = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--LabApp.news_url=None",
    ]
    with jupyter_server(command, folder, environment) as url:
        yield url


def test_sliders_drive_the_plot_and_python_reads_them(browser, lab):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    log = watch(page, allowed=("http://127.0.0.1", "data:"))
    page.goto(f"{lab}/lab/tree/explorer.ipynb", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    explorer = page.locator(".regression-explorer").first
    select_kernel = page.get_by_role("button", name="Select", exact=True)
    started = page.locator(".jp-InputArea-prompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    idle = page.get_by_text(re.compile(r"\|\s*Idle"))
    # A first start of Lab in a new environment can take a while to be ready for commands,
    # and a "Run All" issued before that is lost: wait for an idle kernel, and retry.
    deadline = time.monotonic() + 240
    next_run = time.monotonic()
    while not explorer.locator("canvas").is_visible():
        if select_kernel.is_visible():  # a profile that asks for a kernel despite the setting
            select_kernel.click()
        ready = idle.count() > 0 and started.count() == 0
        if ready and time.monotonic() >= next_run:
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_text("Run All Cells", exact=True).click()
            next_run = time.monotonic() + 20
        if time.monotonic() > deadline:
            page.screenshot(path=str(ROOT / "_build" / "lab-explorer.png"))
            pytest.fail("the explorer did not appear in JupyterLab within 4 minutes")
        page.wait_for_timeout(250)
    page.wait_for_function(
        "() => document.querySelectorAll('.jp-Cell .jp-InputArea-prompt')"
        ".length > 0 && ![...document.querySelectorAll('.jp-InputArea-prompt')]"
        ".some(p => p.textContent.includes('*'))",
        timeout=120_000,
    )
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
    # a new cell at the end asks the kernel what the slider says now
    page.locator(".jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type('print("batch", explorer.values["batch_size"], len(explorer.minibatch()))')
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output", has_text="batch 33")
    try:
        output.first.wait_for(timeout=30_000)
    finally:
        page.screenshot(path=str(ROOT / "_build" / "lab-explorer.png"))
    assert "batch 33 33" in output.first.inner_text()
    assert log.console_errors == [] and log.blocked_requests == [], log
    page.close()
