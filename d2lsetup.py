"""What a notebook of the book installs where it is launched, and nothing more.

Readers open the notebooks in Colab (torch, JAX, TensorFlow, numpy, matplotlib, ipywidgets 7
preinstalled), in SageMaker Studio Lab and in their own Jupyter, which may hold none of them.
Each notebook's first cell installs this module with the `d2lsave` package, where it is
missing, and calls `install_missing` with the notebook's framework. That installs, pinned,
only the packages the framework's notebooks need and the runtime lacks, while every package
already installed is held at its version by a pip constraints file (with `===`, which also
takes the versions that are not PEP 440 ones, as some system packages have): pip either leaves
torch, numpy or ipywidgets exactly as they are or stops with an error, and never upgrades or
downgrades them. Only the installers themselves may move: torch 2.14.1 requires
setuptools>=77, and the virtual environments Python 3.11 makes start with setuptools 65.

d2l is installed without its dependencies: d2l 1.0.3's own pins (numpy 1.23.5, matplotlib
3.7.2, ...) would otherwise replace numpy, and everything it imports is in the framework's
table. Every pin is the one in constraints.txt, binder/requirements.txt or
constraints-mxnet.txt (tests/runtimes/test_runtimes.py checks that they agree).
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY = "https://github.com/d2l-community/synthetic-regression-data"
INSTALLERS = frozenset({"pip", "setuptools", "wheel"})  # the only packages allowed to move
NO_DEPS = {"d2l": "d2l==1.0.3"}  # installed without dependencies (see above)


@dataclass(frozen=True)
class Framework:
    """One framework the book is written in: how readers and the book's tools tell it apart,
    where its notebooks run, and what they need installed."""

    name: str  # as in `#@tab <name>` lines and `framework` directives
    title: str  # as the book's framework switch shows it
    module: str  # what its code imports, and its module in d2l and d2lsave
    kernel: str  # the Jupyter kernel its notebooks run in
    kernel_title: str
    environment: str  # the book's own environment that kernel runs in
    packages: dict[str, str]  # distribution -> what pip installs where it is missing


# The one declaration of the book's frameworks; everything else derives from it. The first is
# the default: cells without `#@tab`, readers without a choice, launch links without a suffix.
FRAMEWORKS: dict[str, Framework] = {
    framework.name: framework
    for framework in (
        Framework(
            "pytorch",
            "PyTorch",
            "torch",
            "python3",
            "Python 3 (ipykernel)",
            ".venv",
            {
                "torch": "torch==2.14.1",
                "torchvision": "torchvision==0.29.1",
                "numpy": "numpy==2.4.6",
                "matplotlib": "matplotlib==3.11.2",
                "pandas": "pandas==3.1.1",
                "scipy": "scipy==1.17.1",
                "requests": "requests==2.34.2",
                "pillow": "pillow==13.0.0",
                "ipywidgets": "ipywidgets==8.1.9",
                "anywidget": "anywidget==0.11.0",
            },
        ),
        Framework(
            "jax",
            "JAX",
            "jax",
            "python3",
            "Python 3 (ipykernel)",
            ".venv",
            {
                "jax": "jax==0.10.2",
                "jaxlib": "jaxlib==0.10.2",
                "flax": "flax==0.12.8",
                "optax": "optax==0.2.8",
                "tensorflow": "tensorflow-cpu==2.21.0",
                "tensorflow-datasets": "tensorflow-datasets==4.9.10",
                "numpy": "numpy==2.4.6",
                "matplotlib": "matplotlib==3.11.2",
                "pandas": "pandas==3.1.1",
                "requests": "requests==2.34.2",
            },
        ),
        Framework(
            "tensorflow",
            "TensorFlow",
            "tensorflow",
            "python3",
            "Python 3 (ipykernel)",
            ".venv",
            {
                "tensorflow": "tensorflow-cpu==2.21.0",
                "numpy": "numpy==2.4.6",
                "matplotlib": "matplotlib==3.11.2",
                "pandas": "pandas==3.1.1",
                "requests": "requests==2.34.2",
            },
        ),
        Framework(
            "mxnet",
            "MXNet",
            "mxnet",
            "mxnet",
            "Python 3 (MXNet)",
            ".venv-mxnet",
            {
                "mxnet": "mxnet==1.9.1",
                "numpy": "numpy==1.23.5",
                "matplotlib": "matplotlib==3.7.5",
                "pandas": "pandas==2.0.3",
                "requests": "requests==2.34.2",
            },
        ),
    )
}
DEFAULT = next(iter(FRAMEWORKS))
PACKAGES = {name: framework.packages for name, framework in FRAMEWORKS.items()}
SETUP_MARKER = "#@setup"  # a page's cell that every notebook gets as its setup cell
SETUP_CELL = """\
# Installs what this notebook needs and the runtime lacks; no installed package changes.
import importlib.util, os, subprocess, sys
BOOK = "d2lsave @ git+{repository}"
if importlib.util.find_spec("d2lsetup") is None:  # the book's installer, with d2lsave
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    os.environ.get("D2LSAVE_WHEEL", BOOK)], check=True)
    importlib.invalidate_caches()
from d2lsetup import glue, install_missing
install_missing("{framework}")"""


def setup_cell(framework: str = DEFAULT) -> str:
    """The first code cell of `framework`'s notebooks, in place of a page's `#@setup` cell.

    It has to run on its own in a fresh runtime, so it installs this module (with d2lsave)
    before it can call it. `D2LSAVE_WHEEL` points it at a local wheel, as the runtime tests do.
    """
    if framework not in FRAMEWORKS:
        raise ValueError(
            f"framework={framework!r}: expected one of {', '.join(map(repr, FRAMEWORKS))}"
        )
    return SETUP_CELL.format(repository=REPOSITORY, framework=framework)


MXNET_ELSEWHERE = f"""\
MXNet 1.9.1 needs Python <= 3.11 and numpy < 1.24, and this runtime has Python {{python}} and
numpy {{numpy}}. Make an environment for it:
  python3.11 -m venv mxnet-env && mxnet-env/bin/pip install -r \
{REPOSITORY}/raw/main/requirements-mxnet.txt
and open this notebook with its kernel (mxnet-env/bin/python -m ipykernel install --user \
--name mxnet)."""

Runner = Callable[[list[str]], Any]


def installed_versions() -> dict[str, str]:
    """Distribution name -> version of the copy Python imports (the first on `sys.path`)."""
    installed: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        if dist.metadata["Name"]:
            installed.setdefault(dist.metadata["Name"].lower().replace("_", "-"), dist.version)
    if "tensorflow-cpu" in installed:  # the CPU-only build provides the same package
        installed.setdefault("tensorflow", installed["tensorflow-cpu"])
    return installed


def missing(framework: str, installed: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """What pip has to install for `framework`: (with dependencies, without them)."""
    if framework not in PACKAGES:
        raise ValueError(
            f"framework={framework!r}: expected one of {', '.join(map(repr, PACKAGES))}"
        )
    if framework == "mxnet" and "mxnet" not in installed:
        numpy = installed.get("numpy", "")
        major_minor = tuple(int(part) for part in numpy.split(".")[:2] if part.isdigit())
        if sys.version_info >= (3, 12) or major_minor >= (1, 24):
            python = ".".join(map(str, sys.version_info[:2]))
            raise RuntimeError(MXNET_ELSEWHERE.format(python=python, numpy=numpy or "none"))
    with_deps = [spec for name, spec in PACKAGES[framework].items() if name not in installed]
    without = [spec for name, spec in NO_DEPS.items() if name not in installed]
    return with_deps, without


def _pip(arguments: list[str]) -> None:
    subprocess.run([sys.executable, "-m", "pip", *arguments], check=True)


def install_missing(framework: str = DEFAULT, run: Runner = _pip) -> None:
    """Install what `framework`'s notebooks need and this runtime lacks, holding every
    installed package at its version. It returns nothing, so that the setup cell, whose last
    line it is, shows only what was installed."""
    installed = installed_versions()
    with_deps, without = missing(framework, installed)
    if not with_deps and not without:
        return
    with tempfile.TemporaryDirectory() as folder:
        keep = Path(folder) / "installed.txt"
        keep.write_text(
            "\n".join(
                f"{name}==={version}"
                for name, version in installed.items()
                if name not in INSTALLERS
            )
        )
        for specs, options in ((with_deps, []), (without, ["--no-deps"])):
            if specs:
                print("Installing", *specs)
                run(["install", "--quiet", "-c", str(keep), *options, *specs])


def glue(name: str, value: Any, display: bool = True) -> None:
    """myst-nb's `glue` where the book is built, which turns a value into text of the page;
    elsewhere the value is only shown, if `display`."""
    try:
        from myst_nb import glue as book_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    book_glue(name, value, display=display)
