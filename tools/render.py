"""The notebook Sphinx renders for each notebook page: its frameworks' executed notebooks, merged.

Every code cell appears once per framework (tagged `fw-<framework>`), and every glued value and
figure reference once per framework, so that the page switches between frameworks without a
kernel (book/_js/frameworks.js). It is written as `book/<page>.tabs.json` (not committed), for
a page of one framework too: the book renders every notebook page from what `make notebooks`
executed, never runs a notebook itself, and stops at a notebook older than its page.

A page whose front matter says `frameworks: {pytorch_for_all: true}`, such as the exercise
solutions, is PyTorch throughout with additions for the other frameworks where they change the
answer: its PyTorch cells and shared prose are shown to every reader, and only the other
frameworks' cells and prose follow the switch.

sphinx-design's synchronised tabs were the first choice for the switch, but a tab cannot hold
a notebook cell: myst-nb renders code cells only at the top level of a page.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from tools import execute
from tools.book import display_path, toc_notebooks, write_if_changed
from tools.frameworks import (
    DEFAULT,
    DIRECTIVE,
    FRAMEWORKS,
    PYTHON3,
    FrameworkError,
    _names,
    cell_frameworks,
    framework_notebooks,
    pytorch_for_all,
)

MERGED_SUFFIX = ".tabs.json"
GLUE = re.compile(r"\{glue(?::(?P<kind>text|figure|math|md))?\}`(?P<key>[^`:]+)(?P<fmt>:[^`]*)?`")
# a glued output pasted as a block, such as a widget: ```{glue} key
GLUE_DIRECTIVE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{glue(?::figure)?\}[ \t]+(?P<key>[^\s`]+)", re.M
)
REFERENCE = re.compile(r"\{(?P<role>numref|ref)\}`(?P<text>[^`<]*<)?(?P<label>[^`>]+)(?P<end>>?)`")


def merged_page(md: Path) -> Path:
    return md.with_name(md.stem + MERGED_SUFFIX)


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
    source = jupytext.read(md)
    executed, widgets = {}, {}
    for framework, path, cells in framework_notebooks(md):
        if not path.exists():
            raise FrameworkError(f"{display_path(path)} is missing: run `make notebooks`")
        stored = execute.sync(md, framework, cells)  # the page's cells, the stored outputs
        if not execute.is_current(md, stored):
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
    return write_if_changed(target, text)


def write_all() -> int:
    """Write the page the book renders for every notebook page; 1 if any is stale."""
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
    sys.exit(write_all())
