"""One page, several frameworks: split a page into one notebook per framework.

A page that teaches with code in several frameworks is written once, as d2lbook does it: a
code cell whose first line is `#@tab jax` (or `#@tab jax, tensorflow`, or `#@tab all`) belongs
to those frameworks, and a code cell without that line to the default one, PyTorch. Prose that
only one framework's readers should see sits in a `framework` directive:

    ```{framework} jax
    JAX has no global random state: ...
    ```

From that one source,

* `split` derives each framework's notebook, which is executed in that framework's own kernel
  (`make notebooks`), checked by nbval and launched by readers: PyTorch's is the page's usual
  `.ipynb`, the others are `<page>.<framework>.ipynb`. A page's `#@setup` cell becomes the
  framework's setup cell (d2lsetup.setup_cell);
* tools/render.py merges the executed notebooks back into the page the book renders.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jupytext
import nbformat

from d2lsetup import DEFAULT, SETUP_MARKER, setup_cell
from d2lsetup import FRAMEWORKS as DECLARED
from tools.book import display_path, toc_notebooks

FRAMEWORKS = tuple(DECLARED)
TITLES = {name: framework.title for name, framework in DECLARED.items()}
KERNELS = {
    name: {"display_name": fw.kernel_title, "language": "python", "name": fw.kernel}
    for name, fw in DECLARED.items()
}
PYTHON3 = KERNELS[DEFAULT]
TAB_LINE = re.compile(r"\A#@tab[ \t]+([^\n]*?)[ \t]*(?:\n|\Z)")
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})\{framework\}[ \t]*(?P<names>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$\n?",
    re.M | re.S,
)


class FrameworkError(ValueError):
    """A page whose framework markup cannot be read; names the page, the cell and the value."""


def _names(text: str, where: str) -> tuple[str, ...]:
    """The frameworks a `#@tab` line or a `framework` directive names, checked."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return FRAMEWORKS
    unknown = [name for name in names if name not in FRAMEWORKS]
    if not names or unknown:
        raise FrameworkError(
            f"{where}: framework {', '.join(unknown) or '(none)'!r} is not one of "
            f"{', '.join(FRAMEWORKS)} or 'all'"
        )
    return tuple(name for name in FRAMEWORKS if name in names)


def cell_frameworks(cell: nbformat.NotebookNode, where: str = "cell") -> tuple[str, ...]:
    """The frameworks a code cell belongs to: its `#@tab` line's, else only the default."""
    match = TAB_LINE.match(cell.source)
    return _names(match.group(1), where) if match else (DEFAULT,)


def without_tab_line(source: str) -> str:
    """A cell's code as its framework's notebook holds it: no `#@tab` line, no blank start."""
    return TAB_LINE.sub("", source, count=1).lstrip("\n")


def is_multi_framework(notebook: nbformat.NotebookNode) -> bool:
    """Whether any code cell of the notebook is marked for a framework with `#@tab`."""
    return any(cell.cell_type == "code" and TAB_LINE.match(cell.source) for cell in notebook.cells)


def pytorch_for_all(notebook: nbformat.NotebookNode) -> bool:
    """Whether the page's PyTorch cells are shown to the readers of every framework."""
    return bool(notebook.metadata.get("frameworks", {}).get("pytorch_for_all"))


def page_frameworks(md: Path) -> tuple[str, ...]:
    """The frameworks a page is written in: all four for a page with `#@tab` cells."""
    return source_frameworks(jupytext.read(md))


def source_frameworks(source: nbformat.NotebookNode) -> tuple[str, ...]:
    """The frameworks a page's source, already read, is written in."""
    return FRAMEWORKS if is_multi_framework(source) else (DEFAULT,)


def launched_frameworks(md: Path) -> tuple[str, ...]:
    """The frameworks whose notebook of the page readers launch: each framework of a page
    written in several, only PyTorch's for a page whose PyTorch cells every reader sees (its
    other notebooks hold just their additions, and serve the book's outputs)."""
    source = jupytext.read(md)
    return (DEFAULT,) if pytorch_for_all(source) else source_frameworks(source)


def derived_notebook(md: Path, framework: str = DEFAULT) -> Path:
    """Where the executed notebook of `framework` for the page `md` lives."""
    if framework == DEFAULT:
        return md.with_suffix(".ipynb")
    return md.with_name(f"{md.stem}.{framework}.ipynb")


def prose_for(markdown: str, framework: str, where: str = "cell") -> str:
    """Markdown as `framework`'s readers see it: its own `framework` blocks unwrapped, the
    other frameworks' blocks removed."""

    def keep(match: re.Match) -> str:
        return match.group("body") if framework in _names(match.group("names"), where) else ""

    return DIRECTIVE.sub(keep, markdown)


def split(
    notebook: nbformat.NotebookNode, framework: str, name: str = "page"
) -> nbformat.NotebookNode:
    """The notebook of one framework: its code cells, without `#@tab` lines, its prose, and
    its kernel."""
    result = copy.deepcopy(notebook)
    cells = []
    for index, cell in enumerate(result.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            if framework not in cell_frameworks(cell, where):
                continue
            cell.source = without_tab_line(cell.source)
            if cell.source.startswith(SETUP_MARKER):
                cell.source = setup_cell(framework)
        elif cell.cell_type == "markdown":
            cell.source = prose_for(cell.source, framework, where).strip("\n")
            if not cell.source:
                continue
        cells.append(cell)
    result.cells = cells
    result.metadata["kernelspec"] = dict(KERNELS[framework])
    return result


def framework_notebooks(md: Path) -> list[tuple[str, Path, nbformat.NotebookNode]]:
    """(framework, derived path, cells from the source) for every framework of a page."""
    source = jupytext.read(md)
    return [
        (fw, derived_notebook(md, fw), split(source, fw, display_path(md)))
        for fw in source_frameworks(source)
    ]


def multi_framework_pages() -> list[Path]:
    return [md for md in toc_notebooks() if len(page_frameworks(md)) > 1]
