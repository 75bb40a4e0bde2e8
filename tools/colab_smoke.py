"""Run every notebook in an environment shaped like Colab's (run by `make colab-smoke`).

The environment holds what Colab preinstalls (torch, torchvision, numpy 2, matplotlib, pandas,
scipy, requests, ipykernel, ipywidgets) and none of d2l, d2lsave or anywidget, so each
notebook's setup cell has to install them. GitHub is out of reach here, so the setup cell is
pointed at a wheel built from this checkout through the D2LSAVE_WHEEL variable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient

from tools.book_notebooks import ROOT, toc_notebooks
from tools.notebooks import clear_outputs

VENV = ROOT / "_build" / "colab-like-venv"
DIST = ROOT / "_build" / "dist"
KERNEL = "colab-like"
PREINSTALLED = [
    "torch",
    "torchvision",
    "numpy",
    "matplotlib",
    "pandas",
    "scipy",
    "requests",
    "ipykernel",
    "ipywidgets",
]
ABSENT = ["d2l", "d2lsave", "anywidget", "myst_nb"]
VERSIONS = (
    "import json, importlib.metadata as m;"
    "print(json.dumps({p: m.version(p) for p in ['torch', 'numpy']}))"
)


@dataclass
class SmokeResult:
    """What happened in the Colab-like environment."""

    executed: list[str]
    versions_before: dict[str, str]
    versions_after: dict[str, str]
    installed_by_setup: list[str]


def _python() -> Path:
    return VENV / "bin" / "python"


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, text=True, **kwargs)


def _importable(modules: list[str]) -> list[str]:
    """Which modules the environment can import (run outside the checkout, whose d2lsave/
    folder would otherwise be found first)."""
    code = (
        "import importlib.util, json, sys;"
        f"print(json.dumps([m for m in {modules!r} if importlib.util.find_spec(m)]))"
    )
    return json.loads(_run(_python(), "-c", code, capture_output=True, cwd=VENV).stdout)


def create_environment() -> None:
    """A fresh virtual environment with Colab's preinstalled packages, and a kernel for it."""
    if VENV.exists():
        shutil.rmtree(VENV)
    _run(sys.executable, "-m", "venv", VENV)
    _run(
        _python(), "-m", "pip", "install", "--quiet", "-c", ROOT / "constraints.txt", *PREINSTALLED
    )
    _run(_python(), "-m", "ipykernel", "install", "--prefix", VENV, "--name", KERNEL)


def build_wheel() -> Path:
    """A wheel of d2lsave built from this checkout."""
    if DIST.exists():
        shutil.rmtree(DIST)
    _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        DIST,
        ROOT,
        capture_output=True,
    )
    (wheel,) = DIST.glob("d2lsave-*.whl")
    return wheel


def execute_notebooks(wheel: Path) -> list[str]:
    """Run each notebook from a clean start on the Colab-like kernel, in a scratch folder."""
    kernel_environment = {
        "JUPYTER_PATH": str(VENV / "share" / "jupyter"),  # where the colab-like kernel is
        "D2LSAVE_WHEEL": str(wheel),  # read by the setup cells
    }
    executed = []
    with mock.patch.dict(os.environ, kernel_environment), tempfile.TemporaryDirectory() as scratch:
        for md in toc_notebooks():
            ipynb = md.with_suffix(".ipynb")
            notebook = clear_outputs(nbformat.read(ipynb, as_version=4))
            NotebookClient(
                notebook, timeout=900, kernel_name=KERNEL, resources={"metadata": {"path": scratch}}
            ).execute()
            executed.append(ipynb.name)
    return executed


def _versions() -> dict[str, str]:
    return json.loads(_run(_python(), "-c", VERSIONS, capture_output=True, cwd=VENV).stdout)


def run() -> SmokeResult:
    create_environment()
    already = _importable(ABSENT)
    if already:
        raise RuntimeError(f"the Colab-like environment should not hold {already}")
    before = _versions()
    executed = execute_notebooks(build_wheel())
    return SmokeResult(executed, before, _versions(), _importable(ABSENT))


if __name__ == "__main__":
    result = run()
    print(f"executed {', '.join(result.executed)} in a Colab-like environment")
    print(f"torch and numpy before: {result.versions_before}, after: {result.versions_after}")
    print(f"installed by the setup cells: {result.installed_by_setup}")
    sys.exit(0 if result.versions_before == result.versions_after else 1)
