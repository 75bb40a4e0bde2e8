"""Set up every notebook where nothing is preinstalled, and in Binder's environment.

Two fresh environments, on this machine's Python (whose torch lies on disk here):

* **bare**: only `ipykernel`, as in a Jupyter of one's own or a new Studio Lab environment.
  The setup cell (tools/setup_cell.py) has to install torch, numpy, matplotlib, pandas,
  ipywidgets, anywidget, d2l and d2lsave;
* **binder**: `binder/requirements.txt`, what Binder builds and Studio Lab can install. The
  setup cell has to add only d2l and d2lsave.

Each is made once under `_build/` and put back as it was made before every run (see
tools/colab_smoke.py, whose machinery this uses). `python -m tools.bare_runtime [bare|binder]`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tools.book_notebooks import ROOT
from tools.colab_smoke import SmokeResult, report, run_in
from tools.frameworks import DEFAULT
from tools.setup_cell import SETUP_CELL

BINDER = ROOT / "binder" / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
VENVS = {"bare": ROOT / "_build" / "bare-venv", "binder": ROOT / "_build" / "binder-venv"}


def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements or constraints file, by lower-case name."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][\w.-]*)==([^\s;#]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def installs(kind: str) -> list[list[str]]:
    """pip arguments that make an environment of that kind."""
    if kind == "bare":
        return [[f"ipykernel=={pins(CONSTRAINTS)['ipykernel']}"]]
    return [["-r", str(BINDER)]]


def run(kind: str, setup_cell: str = SETUP_CELL) -> SmokeResult:
    """Every page's PyTorch notebook, with `setup_cell` first, in a fresh environment of
    that kind: its setup cell, then every import its code makes. The setup cell brings the
    environment to the book's own versions (tests/runtimes/test_runtimes.py checks them), at which
    nbval runs every cell of the notebooks."""
    python = Path(sys.executable)  # a venv made from a venv's Python uses its base Python
    return run_in(
        VENVS[kind], python, installs(kind), f"{kind}-runtime", {DEFAULT: setup_cell}, whole=False
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="*", help=f"any of {', '.join(VENVS)} (default: all)")
    kinds = parser.parse_args(argv).kinds or list(VENVS)
    if set(kinds) - set(VENVS):
        parser.error(f"unknown kind in {kinds}")
    status = 0
    for kind in kinds:
        status |= report(run(kind), f"a {kind} environment")
    return status


if __name__ == "__main__":
    sys.exit(main())
