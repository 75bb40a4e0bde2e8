"""What the runtime tests share: the runs of the notebooks in each runtime, made once per
session, a fresh copy of the explorer notebook, and a Jupyter server to open it in."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import psutil
import pytest

from tests.conftest import ROOT
from tools import colab_smoke

RUNS: dict[str, colab_smoke.Run] = {}
# How many examples the explorer's plot highlights as the minibatch, from its canvas's label
HIGHLIGHTED = "e => e.querySelector('canvas').ariaLabel.match(/(\\d+) minibatch examples/)[1]"


@pytest.fixture(scope="session")
def run_in():
    """The run of every notebook in a runtime (tools/colab_smoke.py), made on first use;
    skipped, saying why, without the Python it needs."""

    def run(name: str) -> colab_smoke.Run:
        if name not in RUNS:
            try:
                RUNS[name] = colab_smoke.run(name)
                print(f"{name}: seconds", {k: round(v) for k, v in RUNS[name].seconds.items()})
            except colab_smoke.NoPython as missing:
                pytest.skip(str(missing))
        return RUNS[name]

    return run


def fresh_explorer(folder: Path) -> Path:
    """The explorer notebook as a student gets it, in `folder`: its own first cell, and no
    outputs, execution counts or widget state."""
    notebook = nbformat.read(ROOT / "book" / "explorer.ipynb", as_version=4)
    for cell in colab_smoke.code_cells(notebook):
        cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, folder / "explorer.ipynb")
    return folder / "explorer.ipynb"


@contextmanager
def jupyter_server(command: list[str], folder: Path, environment: dict[str, str]) -> Iterator[str]:
    """A Jupyter server (`command`: JupyterLab or the classic Notebook, with the options that
    turn off its token) on `folder`, on a free loopback port; yields its URL once it answers,
    and ends it and every kernel it started afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = ["--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}"]
    server = psutil.Popen(
        [*command, *options, f"--notebook-dir={folder}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/api", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        processes = [server, *server.children(recursive=True)]
        for process in processes:
            process.terminate()
        for process in psutil.wait_procs(processes, timeout=30)[1]:
            process.kill()
