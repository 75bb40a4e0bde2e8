"""The first code cell of every notebook: it installs what a runtime lacks and changes nothing.

The cell itself only makes sure the book's installer, `d2lsetup` (shipped with `d2lsave`), is
there, and calls it with the notebook's framework; what gets installed, and why nothing that
is installed moves, is `d2lsetup`'s business, where it is tested. The cell reads
`D2LSAVE_WHEEL` so that the runtime tests install this checkout instead of the repository's
published copy. `python -m tools.setup_cell` writes the cell into every page.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from d2lsetup import PACKAGES, REPOSITORY
from tools.book_notebooks import ROOT, display_path, toc_notebooks
from tools.frameworks import DEFAULT

TEMPLATE = """\
# Installs what this notebook needs and the runtime lacks; no installed package changes.
import importlib.util, os, subprocess, sys
BOOK = "d2lsave @ git+{repository}"
if importlib.util.find_spec("d2lsetup") is None:  # the book's installer, with d2lsave
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    os.environ.get("D2LSAVE_WHEEL", BOOK)], check=True)
    importlib.invalidate_caches()
from d2lsetup import glue, install_missing
install_missing("{framework}")"""

SETUP_CELLS = {
    framework: TEMPLATE.format(repository=REPOSITORY, framework=framework) for framework in PACKAGES
}
SETUP_CELL = SETUP_CELLS[DEFAULT]


def first_code_cell(notebook: nbformat.NotebookNode) -> str:
    """The source of a notebook's first code cell."""
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code")


def has_setup_cell(notebook: nbformat.NotebookNode) -> bool:
    """Whether a notebook opens with exactly SETUP_CELL as its first code cell."""
    return first_code_cell(notebook) == SETUP_CELL


SETUP_BODY = re.compile(
    r"^(?P<header>```\{code-cell\} ipython3\n"
    r"(?::tags: \[hide-cell\]\n|---\n(?:(?!^```).)*?^---\n)\n?)"
    r"(?P<tab>#@tab \w+\n)?(?P<code># (?:Setup for |Installs what).*?)\n(?=^```$)",
    re.M | re.S,
)


def with_setup_cells(text: str) -> str:
    """A page's MyST with the code of each of its setup cells written anew, for the
    framework its `#@tab` line names (PyTorch without one)."""

    def new(match: re.Match) -> str:
        framework = match["tab"][len("#@tab ") :].strip() if match["tab"] else DEFAULT
        return f"{match['header']}{match['tab'] or ''}{SETUP_CELLS[framework]}\n"

    return SETUP_BODY.sub(new, text)


def pages() -> list[Path]:
    """Every page that opens with a setup cell: the book's notebooks and the assignments."""
    return [*toc_notebooks(), *sorted((ROOT / "assignments").glob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the setup cell into every page.")
    parser.parse_args(argv)
    for md in pages():
        text = md.read_text()
        written = with_setup_cells(text)
        if written != text:
            md.write_text(written)
            print(f"setup cells written: {display_path(md)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
