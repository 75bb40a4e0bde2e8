"""Keep each paired `.ipynb` derived from its `.md` (`make sync`, `make notebooks`).

The MyST `.md` is the source; the `.ipynb` beside it is what Colab opens and nbval checks, so it
must hold the same cells plus their outputs. The pairing always flows from `.md` to `.ipynb`:
file timestamps, which git does not keep, never decide the direction.

* `sync` rewrites the cells of each `.ipynb` from its `.md` and keeps the outputs of cells
  whose code did not change;
* `execute` also runs each notebook from the top and stores the fresh outputs;
* `check` reports every pair whose cells differ (used by the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient

from tools.book_notebooks import ROOT, display_path, toc_notebooks

IGNORED_CELL_METADATA = {"execution", "scrolled", "collapsed", "jp-MarkdownHeadingCollapsed"}
TIMEOUT_SECONDS = 600


def paired_ipynb(md: Path) -> Path:
    return md.with_suffix(".ipynb")


def _cells(notebook: nbformat.NotebookNode) -> list[tuple[str, str, dict]]:
    """What the pairing must preserve of each cell: its type, source and metadata."""
    return [
        (
            cell.cell_type,
            cell.source.strip("\n"),
            {k: v for k, v in cell.metadata.items() if k not in IGNORED_CELL_METADATA},
        )
        for cell in notebook.cells
    ]


def pairing_problems(md: Path) -> list[str]:
    """Why the `.ipynb` paired with `md` is not its faithful copy; empty when it is."""
    ipynb = paired_ipynb(md)
    name = display_path(ipynb)
    if not ipynb.exists():
        return [f"{name} is missing: run `make sync`"]
    expected = _cells(jupytext.read(md))
    actual = _cells(nbformat.read(ipynb, as_version=4))
    problems = []
    if len(expected) != len(actual):
        problems.append(f"{name} has {len(actual)} cells, its .md has {len(expected)}")
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            problems.append(f"{name}, cell {index}: differs from the .md ({_describe(want, got)})")
            break
    missing_outputs = [
        i
        for i, cell in enumerate(nbformat.read(ipynb, as_version=4).cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.execution_count is None
    ]
    if missing_outputs:
        problems.append(
            f"{name}: cells {missing_outputs} were never executed: run `make notebooks`"
        )
    return problems


def _describe(want: tuple, got: tuple) -> str:
    for label, a, b in zip(("type", "source", "metadata"), want, got, strict=True):
        if a != b:
            return f"{label}: .md has {a!r:.80}, .ipynb has {b!r:.80}"
    return "unknown"


def sync(md: Path) -> nbformat.NotebookNode:
    """The `.md`'s cells with the outputs the current `.ipynb` holds for unchanged code."""
    source = jupytext.read(md)
    ipynb = paired_ipynb(md)
    if ipynb.exists():
        return combine_inputs_with_outputs(source, nbformat.read(ipynb, as_version=4))
    return source


def clear_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a fresh start sees it: no outputs and no execution counts."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def execute(md: Path) -> nbformat.NotebookNode:
    """The `.md`'s cells executed from a fresh kernel, with their outputs."""
    notebook = clear_outputs(sync(md))
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_SECONDS,
        kernel_name=notebook.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(md.parent)}},
        record_timing=False,
    )
    client.execute()
    return notebook


def write(md: Path, notebook: nbformat.NotebookNode) -> None:
    """Write the paired `.ipynb` atomically."""
    target = paired_ipynb(md)
    temporary = target.with_suffix(".ipynb.tmp")
    temporary.write_text(jupytext.writes(notebook, fmt="ipynb"))
    temporary.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Derive each paired .ipynb from its .md.")
    parser.add_argument("action", choices=["sync", "execute", "check"])
    parser.add_argument("pages", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    args = parser.parse_args(argv)
    pages = [page.resolve() for page in args.pages] or toc_notebooks()
    if args.action == "check":
        problems = [problem for page in pages for problem in pairing_problems(page)]
        print("\n".join(problems) or "every .ipynb matches its .md")
        return 1 if problems else 0
    for page in pages:
        notebook = execute(page) if args.action == "execute" else sync(page)
        write(page, notebook)
        print(f"{args.action}: {paired_ipynb(page).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
