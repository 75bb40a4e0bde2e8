"""One page, several frameworks: a code cell's first line `#@tab jax, tensorflow` (or `all`)
names its frameworks, else it is the default's; prose for some sits in a `{framework}` block.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jupytext
from nbformat import NotebookNode

from d2lsetup import DEFAULT, SETUP_MARKER, setup_cell
from d2lsetup import FRAMEWORKS as DECLARED
from tools.book import display_path, toc_notebooks

FRAMEWORKS = tuple(DECLARED)
TITLES = {name: framework.title for name, framework in DECLARED.items()}
KERNELS = {
    name: {"display_name": fw.kernel_title, "language": "python", "name": fw.kernel}
    for name, fw in DECLARED.items()
}
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


def cell_frameworks(cell: NotebookNode, where: str = "cell") -> tuple[str, ...]:
    match = TAB_LINE.match(cell.source)
    return _names(match.group(1), where) if match else (DEFAULT,)


def without_tab_line(source: str) -> str:
    return TAB_LINE.sub("", source, count=1).lstrip("\n")


def pytorch_for_all(notebook: NotebookNode) -> bool:
    """Whether the front matter says `frameworks: {pytorch_for_all: true}`: every reader sees
    the page's PyTorch cells."""
    return bool(notebook.metadata.get("frameworks", {}).get("pytorch_for_all"))


def source_frameworks(source: NotebookNode) -> tuple[str, ...]:
    """All frameworks for a page with `#@tab`, else the default."""
    tabbed = any(cell.cell_type == "code" and TAB_LINE.match(cell.source) for cell in source.cells)
    return FRAMEWORKS if tabbed else (DEFAULT,)


def page_frameworks(md: Path) -> tuple[str, ...]:
    return source_frameworks(jupytext.read(md))


def launched_frameworks(md: Path) -> tuple[str, ...]:
    """The frameworks whose notebook of the page readers launch: PyTorch's alone where every
    reader sees the PyTorch cells (the other notebooks hold just their additions)."""
    source = jupytext.read(md)
    return (DEFAULT,) if pytorch_for_all(source) else source_frameworks(source)


def derived_notebook(md: Path, framework: str = DEFAULT) -> Path:
    return md.with_name(md.stem + ("" if framework == DEFAULT else f".{framework}") + ".ipynb")


def prose_for(markdown: str, framework: str, where: str = "cell") -> str:
    """Markdown as `framework`'s readers see it: its own blocks unwrapped, the others' gone."""

    def keep(match: re.Match) -> str:
        return match.group("body") if framework in _names(match.group("names"), where) else ""

    return DIRECTIVE.sub(keep, markdown)


def split(notebook: NotebookNode, framework: str, name: str = "page") -> NotebookNode:
    """The notebook of one framework: its code cells without `#@tab` lines (the `#@setup`
    cell replaced by its setup cell), its prose and its kernel."""
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


def framework_notebooks(md: Path) -> list[tuple[str, Path, NotebookNode]]:
    """(framework, derived path, cells from the source) for every framework of a page."""
    source = jupytext.read(md)
    return [
        (fw, derived_notebook(md, fw), split(source, fw, display_path(md)))
        for fw in source_frameworks(source)
    ]


def multi_framework_pages() -> list[Path]:
    return [md for md in toc_notebooks() if len(page_frameworks(md)) > 1]
