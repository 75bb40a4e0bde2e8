"""What the runtime tests share: each runtime's run of the notebooks, made once per session,
and a Jupyter server on a fresh copy of the explorer notebook, in which a cell is typed."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.conftest import ROOT
from tools import colab_smoke

RUNS: dict[str, colab_smoke.Run] = {}


@pytest.fixture(scope="session")
def run_in():
    """The run of the notebooks in a runtime (tools/colab_smoke.py), made on first use;
    skipped, saying why, without the Python it needs."""

    def run(name: str) -> colab_smoke.Run:
        if name not in RUNS:
            try:
                RUNS[name] = colab_smoke.run(name)
            except colab_smoke.NoPython as missing:
                pytest.skip(str(missing))
            print(f"{name}: seconds", {k: round(v) for k, v in RUNS[name].seconds.items()})
        return RUNS[name]

    return run


@contextlib.contextmanager
def jupyter_server(
    command: list[str], tmp: Path, variables: dict[str, str], whole: bool = True
) -> Iterator[str]:
    """A Jupyter server (`command`, with the options that turn off its token) on a free
    loopback port, with a profile of its own in `tmp`/home (no user settings or extensions),
    on `tmp`/explorer.ipynb as a student gets it: no outputs or widget state, and without
    `whole` only its cells up to the explorer's. Yields its URL once it answers, then ends it
    and its kernels."""
    notebook = nbformat.read(ROOT / "book" / colab_smoke.EXPLORER, as_version=4)
    for cell in colab_smoke.code_cells(notebook):
        cell.outputs, cell.execution_count = [], None
    if not whole:
        shown = [i for i, cell in enumerate(notebook.cells) if cell.source.startswith("explorer =")]
        del notebook.cells[shown[0] + 1 :]
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, tmp / colab_smoke.EXPLORER)
    profile = {
        f"JUPYTER_{kind.upper()}_DIR": str(tmp / "home" / kind)
        for kind in ("config", "data", "runtime")
    }
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"]
    server = psutil.Popen(
        [*command, *options, f"--notebook-dir={tmp}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | profile | variables,
    )
    url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 300
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/api", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"{command[0]} did not answer at {url} within 5 minutes")
                time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):  # a server that has ended already
            processes = [server, *server.children(recursive=True)]
            for process in processes:
                process.terminate()
            for process in psutil.wait_procs(processes, timeout=30)[1]:
                process.kill()


def run_new_cell(page, last_cell, code: str) -> None:
    """Type `code` into a new code cell below `last_cell` and run it, from the keyboard."""
    last_cell.click()
    for key in ("Escape", "b", "Enter"):
        page.keyboard.press(key)
    page.keyboard.type(code)
    page.keyboard.press("Shift+Enter")
