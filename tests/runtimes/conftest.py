"""A Jupyter server on a fresh copy of the explorer notebook, and a cell typed in it."""

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


@contextlib.contextmanager
def jupyter_server(
    command: list[str], tmp: Path, whole: bool = True, **variables: str
) -> Iterator[str]:
    """The URL of a Jupyter server (`command`) with a profile of its own on `tmp`/explorer.ipynb
    as a student gets it (without `whole`, only up to the explorer); its kernels end with it."""
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
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/api", timeout=5)
                break
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
