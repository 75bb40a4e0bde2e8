"""The first code cell of every notebook: installs what a runtime lacks, changes nothing there.

Readers open the notebooks in Colab (torch, numpy, matplotlib, pandas, ipywidgets 7 and
anywidget preinstalled), in SageMaker Studio Lab and in their own Jupyter, which may hold no
torch at all. The cell installs, pinned, only the packages that are missing, and pins every
package already installed to its current version for the duration of that install (a pip
constraints file, with `===`, which also takes the versions that are not PEP 440 ones, as some
system packages have), so pip either leaves torch, numpy or ipywidgets exactly as they are or
stops with an error; it never upgrades or downgrades them. Only the installers themselves (pip,
setuptools, wheel) may move: torch 2.14.1 requires setuptools>=77, and the virtual environments
Python 3.11 makes start with setuptools 65. It calls pip through `sys.executable`, the
kernel's own interpreter, which is what `%pip` does, and which also runs under nbclient.

d2l and d2lsave are installed without their dependencies: d2l 1.0.3's own pins (numpy 1.23.5,
matplotlib 3.7.2, ...) would otherwise replace numpy, and everything either imports is in
PACKAGES. Every pin here is the one in binder/requirements.txt and constraints.txt (checked by
tests/test_runtimes.py), so a bare runtime ends up with the book's own versions.
"""

from __future__ import annotations

import nbformat

# The only packages the cell lets pip move when it installs what is missing (see above).
INSTALLERS = frozenset({"pip", "setuptools", "wheel"})

SETUP_CELL = """\
# Setup for Colab, SageMaker Studio Lab or any Jupyter: installs what is missing, and keeps
# every package already installed (torch, numpy, ipywidgets...) at the version it has.
import importlib.metadata
import os
import subprocess
import sys
import tempfile

REPOSITORY = "https://github.com/d2l-community/synthetic-regression-data"
PACKAGES = {  # installed with their dependencies, where missing
    "torch": "torch==2.14.1", "torchvision": "torchvision==0.29.1", "numpy": "numpy==2.4.6",
    "matplotlib": "matplotlib==3.11.2", "pandas": "pandas==3.1.1", "scipy": "scipy==1.17.1",
    "requests": "requests==2.34.2", "pillow": "pillow==13.0.0",
    "ipywidgets": "ipywidgets==8.1.9", "anywidget": "anywidget==0.11.0",
}
NO_DEPS = {  # installed without: d2l's own pins would downgrade numpy (see the README)
    "d2l": "d2l==1.0.3",
    "d2lsave": os.environ.get("D2LSAVE_WHEEL", f"d2lsave @ git+{REPOSITORY}"),
}
INSTALLERS = {"pip", "setuptools", "wheel"}  # may be upgraded: torch needs setuptools>=77
installed = {}  # name -> version of the copy Python imports (the first on sys.path)
for dist in importlib.metadata.distributions():
    if dist.metadata["Name"]:
        installed.setdefault(dist.metadata["Name"].lower().replace("_", "-"), dist.version)
keep = os.path.join(tempfile.mkdtemp(), "installed.txt")  # pip constraints; "===": exactly
with open(keep, "w") as constraints:
    constraints.write("\\n".join(f"{name}==={version}" for name, version in installed.items()
                                 if name not in INSTALLERS))
for table, options in ((PACKAGES, []), (NO_DEPS, ["--no-deps"])):
    missing = [spec for name, spec in table.items() if name not in installed]
    if missing:
        print("Installing", *missing)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-c", keep, *options,
                        *missing], check=True)

try:  # the book's builder turns glued values into text; elsewhere they are just values
    from myst_nb import glue
except ImportError:
    def glue(name, value, display=True):
        if display:
            from IPython.display import display as show
            show(value)"""


def first_code_cell(notebook: nbformat.NotebookNode) -> str:
    """The source of a notebook's first code cell."""
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


def has_setup_cell(notebook: nbformat.NotebookNode) -> bool:
    """Whether a notebook opens with exactly SETUP_CELL as its first code cell."""
    return first_code_cell(notebook) == SETUP_CELL


def _variant(header: str, packages: str, before_install: str = "") -> str:
    """SETUP_CELL with another first comment, another PACKAGES table and, optionally, lines
    that run before anything is installed."""
    start, end = SETUP_CELL.index("PACKAGES = {"), SETUP_CELL.index("NO_DEPS = {")
    cell = SETUP_CELL[:start] + packages + SETUP_CELL[end:]
    first_lines = SETUP_CELL.index("import importlib.metadata")
    cell = header + cell[first_lines:]
    if before_install:
        anchor = "keep = os.path.join("
        cell = cell.replace(anchor, before_install + anchor, 1)
    return cell


# Colab preinstalls jax, flax, optax, tensorflow and tensorflow-datasets; d2l's JAX module reads
# data with TensorFlow. A runtime with the full `tensorflow` needs no `tensorflow-cpu`.
_TENSORFLOW_ALIAS = """\
if "tensorflow-cpu" in installed:  # the CPU-only build provides the same package
    installed.setdefault("tensorflow", installed["tensorflow-cpu"])
"""

_MXNET_CHECK = """\
if "mxnet" not in installed and (
    sys.version_info >= (3, 12)
    or tuple(map(int, installed.get("numpy", "1.23").split(".")[:2])) >= (1, 24)
):
    raise RuntimeError(
        "MXNet 1.9.1 needs Python <= 3.11 and numpy < 1.24. Make an environment for it:\\n"
        "  python3.11 -m venv mxnet-env && mxnet-env/bin/pip install -r "
        f"{REPOSITORY}/raw/main/requirements-mxnet.txt\\n"
        "and open this notebook with its kernel (mxnet-env/bin/python -m ipykernel "
        "install --user --name mxnet)."
    )
"""

SETUP_CELLS = {
    "pytorch": SETUP_CELL,
    "jax": _variant(
        """\
# Setup for Colab, SageMaker Studio Lab or any Jupyter: installs what is missing, and keeps
# every package already installed (jax, tensorflow, numpy...) at the version it has.
""",
        """\
PACKAGES = {  # installed with their dependencies, where missing
    "jax": "jax==0.10.2", "jaxlib": "jaxlib==0.10.2", "flax": "flax==0.12.8",
    "optax": "optax==0.2.8", "tensorflow": "tensorflow-cpu==2.21.0",
    "tensorflow-datasets": "tensorflow-datasets==4.9.10", "numpy": "numpy==2.4.6",
    "matplotlib": "matplotlib==3.11.2", "pandas": "pandas==3.1.1",
    "requests": "requests==2.34.2",
}
""",
        _TENSORFLOW_ALIAS,
    ),
    "tensorflow": _variant(
        """\
# Setup for Colab, SageMaker Studio Lab or any Jupyter: installs what is missing, and keeps
# every package already installed (tensorflow, numpy...) at the version it has.
""",
        """\
PACKAGES = {  # installed with their dependencies, where missing
    "tensorflow": "tensorflow-cpu==2.21.0", "numpy": "numpy==2.4.6",
    "matplotlib": "matplotlib==3.11.2", "pandas": "pandas==3.1.1",
    "requests": "requests==2.34.2",
}
""",
        _TENSORFLOW_ALIAS,
    ),
    "mxnet": _variant(
        """\
# Setup for a local Jupyter with Python 3.11: installs what is missing, and keeps every
# package already installed at the version it has. MXNet 1.9.1 needs numpy < 1.24, which
# has no wheel for Python 3.12 or later: it cannot run on Colab (Python 3.13).
""",
        """\
PACKAGES = {  # installed with their dependencies, where missing
    "mxnet": "mxnet==1.9.1", "numpy": "numpy==1.23.5", "matplotlib": "matplotlib==3.7.5",
    "pandas": "pandas==2.0.3", "requests": "requests==2.34.2",
}
""",
        _MXNET_CHECK,
    ),
}


def setup_cell_for(framework: str) -> str:
    """The setup cell of a framework's notebook."""
    return SETUP_CELLS[framework]
