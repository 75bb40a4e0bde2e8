"""One page, four frameworks: split a page into one notebook per framework, merge them back.

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
  `.ipynb`, the others are `<page>.<framework>.ipynb`;
* `merge` joins the executed notebooks into the notebook the book renders, with every code
  cell once per framework (tagged `fw-<framework>`) and every glued value and figure
  reference once per framework, so that the page switches between frameworks without a
  kernel (book/_js/frameworks.js). `make book` writes it as `<page>.tabs.json`, for a page
  of one framework too: the book renders every notebook page from what `make notebooks`
  executed, never runs a notebook itself, and stops at a notebook older than its page.

A page whose front matter says `frameworks: {pytorch_for_all: true}`, such as the exercise
solutions, is PyTorch throughout with additions for the other frameworks where they change the
answer: its PyTorch cells and shared prose are shown to every reader, and only the other
frameworks' cells and prose follow the switch.

sphinx-design's synchronised tabs were the first choice for the switch, but a tab cannot hold
a notebook cell: myst-nb renders code cells only at the top level of a page.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from d2lsetup import DEFAULT, SETUP_MARKER, setup_cell
from d2lsetup import FRAMEWORKS as DECLARED
from tools.book_notebooks import display_path, toc_notebooks

FRAMEWORKS = tuple(DECLARED)
TITLES = {name: framework.title for name, framework in DECLARED.items()}
KERNELS = {
    name: {"display_name": fw.kernel_title, "language": "python", "name": fw.kernel}
    for name, fw in DECLARED.items()
}
PYTHON3 = KERNELS[DEFAULT]
MERGED_SUFFIX = ".tabs.json"
TAB_LINE = re.compile(r"\A#@tab[ \t]+([^\n]*?)[ \t]*(?:\n|\Z)")
DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})\{framework\}[ \t]*(?P<names>[^\n]*)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$\n?",
    re.M | re.S,
)
GLUE = re.compile(r"\{glue(?::(?P<kind>text|figure|math|md))?\}`(?P<key>[^`:]+)(?P<fmt>:[^`]*)?`")
# a glued output pasted as a block, such as a widget: ```{glue} key
GLUE_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{glue(?::figure)?\}[ \t]+(?P<key>[^\s`]+)", re.M
)
REFERENCE = re.compile(r"\{(?P<role>numref|ref)\}`(?P<text>[^`<]*<)?(?P<label>[^`>]+)(?P<end>>?)`")


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


def merged_page(md: Path) -> Path:
    return md.with_name(md.stem + MERGED_SUFFIX)


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
    if not is_multi_framework(source):
        return [(DEFAULT, derived_notebook(md), split(source, DEFAULT, display_path(md)))]
    return [
        (fw, derived_notebook(md, fw), split(source, fw, display_path(md))) for fw in FRAMEWORKS
    ]


# --- merging the executed notebooks into the page the book renders ---------------------------


def _figure_label(label: str, framework: str) -> str:
    return label if framework == DEFAULT else f"{label}-{framework}"


def _per_framework(markdown: str, framework: str, figures: set[str]) -> str:
    """Prose of one framework's block: glue keys and figure labels made that framework's."""
    markdown = GLUE.sub(
        lambda m: m.group(0).replace(f"`{m.group('key')}", f"`{framework}.{m.group('key')}", 1),
        markdown,
    )
    return REFERENCE.sub(
        lambda m: (
            m.group(0).replace(m.group("label"), _figure_label(m.group("label"), framework))
            if m.group("label") in figures
            else m.group(0)
        ),
        markdown,
    )


def _spans(inline: str, figures: set[str], frameworks: tuple[str, ...]) -> str:
    """An inline role once per framework, each copy in a span of its framework; just the
    role, made that framework's, when only one framework computes it."""
    if len(frameworks) == 1:
        return _per_framework(inline, frameworks[0], figures)
    return "".join(
        f"[{_per_framework(inline, fw, figures)}]{{.fw-only .fw-{fw}}}" for fw in frameworks
    )


def merged_prose(markdown: str, figures: set[str], shared: tuple[str, ...] = FRAMEWORKS) -> str:
    """Prose whose glued values and figure numbers follow the reader's framework.

    `shared` are the frameworks whose notebooks compute the values of the shared prose: all
    of them, or only PyTorch on a page whose PyTorch cells every reader sees.
    """
    pieces, last = [], 0
    for block in DIRECTIVE.finditer(markdown):
        pieces.append(_shared(markdown[last : block.start()], figures, shared))
        names = _names(block.group("names"), "prose")
        body = _shared(block.group("body"), figures, names)
        fence = block.group("fence")
        pieces.append(f"{fence}{{framework}} {', '.join(names)}\n{body}{fence}\n")
        last = block.end()
    pieces.append(_shared(markdown[last:], figures, shared))
    return "".join(pieces)


def _glue_directive(match: re.Match, frameworks: tuple[str, ...]) -> str:
    """A glue directive of shared prose, pasting the output of the one framework that has it."""
    key = match.group("key")
    if len(frameworks) != 1:
        raise FrameworkError(
            f"the glue directive of `{key}` pastes one output, but {', '.join(frameworks)} "
            "all compute it: glue it in one framework's cells, or in a framework directive"
        )
    return match.group(0)[: match.start("key") - match.start()] + f"{frameworks[0]}.{key}"


def _shared(markdown: str, figures: set[str], frameworks: tuple[str, ...]) -> str:
    markdown = GLUE_DIRECTIVE.sub(lambda m: _glue_directive(m, frameworks), markdown)
    markdown = GLUE.sub(lambda m: _spans(m.group(0), figures, frameworks), markdown)
    return REFERENCE.sub(
        lambda m: (
            _spans(m.group(0), figures, frameworks) if m.group("label") in figures else m.group(0)
        ),
        markdown,
    )


def _figure_names(notebook: nbformat.NotebookNode) -> set[str]:
    return {
        cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        for cell in notebook.cells
        if cell.cell_type == "code"
    } - {None}


def _merged_cell(
    cell: nbformat.NotebookNode, framework: str, for_all: bool = False
) -> nbformat.NotebookNode:
    """One framework's executed cell, tagged with the framework (unless every reader sees
    it), its glue and figure renamed."""
    cell = copy.deepcopy(cell)
    if not for_all:
        cell.metadata["tags"] = [*cell.metadata.get("tags", []), f"fw-{framework}"]
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    if figure.get("name"):
        figure["name"] = _figure_label(figure["name"], framework)
    for output in cell.get("outputs", []):
        scrapbook = output.get("metadata", {}).get("scrapbook")
        if scrapbook and "name" in scrapbook:
            scrapbook["name"] = f"{framework}.{scrapbook['name']}"
    return cell


def merge(md: Path) -> nbformat.NotebookNode:
    """The page as the book renders it: every framework's executed cells in source order, and
    their widgets' saved state. A notebook missing, or executed from other inputs than the
    page's (its code, kernel or the d2lsave it imports), is an error naming `make notebooks`."""
    from tools import notebooks  # which imports this module

    source = jupytext.read(md)
    executed, widgets = {}, {}
    for framework, path, cells in framework_notebooks(md):
        if not path.exists():
            raise FrameworkError(f"{display_path(path)} is missing: run `make notebooks`")
        stored = notebooks.sync(md, framework, cells)  # the page's cells, the stored outputs
        if not notebooks.is_current(md, stored):
            raise FrameworkError(
                f"{display_path(md)} changed since {display_path(path)} was executed (its "
                "code, kernel or the d2lsave it imports): run `make notebooks`"
            )
        executed[framework] = iter([c for c in stored.cells if c.cell_type == "code"])
        for key, saved in stored.metadata.get("widgets", {}).items():  # the widgets' state
            widgets.setdefault(key, {**saved, "state": {}})["state"].update(saved["state"])
    figures = _figure_names(source)  # every framework's cells, with their figure metadata
    # a page of one framework is shown to every reader as it is, as PyTorch's cells are on a
    # page whose PyTorch cells every reader sees
    for_all = pytorch_for_all(source) or len(executed) == 1
    shared = (DEFAULT,) if for_all else FRAMEWORKS
    merged = nbformat.v4.new_notebook(metadata=copy.deepcopy(source.metadata))
    merged.metadata["kernelspec"] = dict(PYTHON3)
    merged.metadata.pop("jupytext", None)
    if widgets:
        merged.metadata["widgets"] = widgets
    for cell in source.cells:
        if cell.cell_type == "markdown":
            merged.cells.append(
                nbformat.v4.new_markdown_cell(
                    merged_prose(cell.source, figures, shared),
                    metadata=copy.deepcopy(cell.metadata),
                )
            )
        elif cell.cell_type == "code":
            for framework in cell_frameworks(cell):
                done = next(executed[framework])
                merged.cells.append(_merged_cell(done, framework, for_all and framework == DEFAULT))
        else:
            merged.cells.append(copy.deepcopy(cell))
    for number, cell in enumerate(merged.cells):
        cell.id = f"cell-{number}"  # stable, so an unchanged page is not rewritten
    return merged


def write_merged(md: Path) -> bool:
    """Write `<page>.tabs.json` if its content changes (Sphinx rereads a page by its time)."""
    target = merged_page(md)
    text = json.dumps(merge(md), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if target.exists() and target.read_text() == text:
        return False
    temporary = target.with_name(target.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(target)
    return True


def multi_framework_pages() -> list[Path]:
    return [md for md in toc_notebooks() if len(page_frameworks(md)) > 1]


def main(argv: list[str] | None = None) -> int:
    """Write the page the book renders for every notebook page; report every stale one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["merge"])
    parser.parse_args(argv)
    stale = False
    for md in toc_notebooks():
        try:
            written = write_merged(md)
            print(f"{'written' if written else 'unchanged'}: {display_path(merged_page(md))}")
        except FrameworkError as error:
            merged_page(md).unlink(missing_ok=True)  # so that no build renders it as it was
            print(error, file=sys.stderr)
            stale = True
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
