"""`book/<page>.tabs.json`, what Sphinx renders for a notebook page (not committed): its
frameworks' executed notebooks merged, each cell, glued value and figure reference once per
framework, so that the page's switch needs no kernel. The book never runs a notebook.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

from tools import execute, frameworks
from tools.book import ROOT, display_path, toc_notebooks, write_if_changed
from tools.frameworks import DEFAULT, FRAMEWORKS, FrameworkError

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


def _shared(markdown: str, figures: set[str], names: tuple[str, ...]) -> str:
    """Prose computed by the frameworks `names`: each glued value and figure reference once per
    framework, in a span of its framework, or only made that framework's when one computes it."""

    def own(role: re.Match, framework: str) -> str:
        if role.re is GLUE:
            return role[0].replace(f"`{role['key']}", f"`{framework}.{role['key']}", 1)
        return role[0].replace(role["label"], _figure_label(role["label"], framework))

    def spans(role: re.Match) -> str:
        if len(names) == 1:
            return own(role, names[0])
        return "".join(f"[{own(role, fw)}]{{.fw-only .fw-{fw}}}" for fw in names)

    def pasted(directive: re.Match) -> str:  # a glued output pasted as a block: one framework's
        if len(names) != 1:
            raise FrameworkError(
                f"the glue directive of `{directive['key']}` pastes one output, but "
                f"{', '.join(names)} all compute it: glue it in one framework's cells, or in a "
                "framework directive"
            )
        key = directive.start("key") - directive.start()
        return f"{directive[0][:key]}{names[0]}.{directive['key']}"

    markdown = GLUE_DIRECTIVE.sub(pasted, markdown)
    markdown = GLUE.sub(spans, markdown)
    return REFERENCE.sub(lambda m: spans(m) if m["label"] in figures else m[0], markdown)


def merged_prose(markdown: str, figures: set[str], shared: tuple[str, ...] = FRAMEWORKS) -> str:
    """Prose whose glued values and figure numbers follow the reader's framework; `shared`
    computes the values outside framework blocks."""
    pieces, last = [], 0
    for block in frameworks.DIRECTIVE.finditer(markdown):
        pieces.append(_shared(markdown[last : block.start()], figures, shared))
        names = frameworks._names(block.group("names"), "prose")
        body = _shared(block.group("body"), figures, names)
        fence = block.group("fence")
        pieces.append(f"{fence}{{framework}} {', '.join(names)}\n{body}{fence}\n")
        last = block.end()
    pieces.append(_shared(markdown[last:], figures, shared))
    return "".join(pieces)


def merge(md: Path) -> nbformat.NotebookNode:
    """The page as the book renders it: every framework's executed cells in source order, and
    their widgets' saved state; a `StaleNotebook` where one is missing or stale."""
    source = jupytext.read(md)
    executed, widgets = {}, {}
    for framework in frameworks.source_frameworks(source):
        cells = frameworks.split(source, framework, display_path(md))
        _, stored = execute.refresh(md, framework=framework, execute=False, source=cells)
        executed[framework] = iter([c for c in stored.cells if c.cell_type == "code"])
        for key, saved in stored.metadata.get("widgets", {}).items():
            widgets.setdefault(key, {**saved, "state": {}})["state"].update(saved["state"])
    figures = {c.metadata.get("mystnb", {}).get("figure", {}).get("name") for c in source.cells}
    figures.discard(None)
    for_all = frameworks.pytorch_for_all(source) or len(executed) == 1  # every reader's cells
    merged = nbformat.v4.new_notebook(metadata=copy.deepcopy(source.metadata))
    merged.metadata["kernelspec"] = dict(frameworks.KERNELS[DEFAULT])
    merged.metadata.pop("jupytext", None)
    if widgets:
        merged.metadata["widgets"] = widgets
    for cell in source.cells:
        if cell.cell_type != "code":
            if cell.cell_type == "markdown":
                prose = merged_prose(cell.source, figures, (DEFAULT,) if for_all else FRAMEWORKS)
                cell = nbformat.v4.new_markdown_cell(prose, metadata=cell.metadata)
            merged.cells.append(cell)
            continue
        for framework in frameworks.cell_frameworks(cell):
            done = copy.deepcopy(next(executed[framework]))  # tagged, its glue and figure renamed
            if not (for_all and framework == DEFAULT):
                done.metadata["tags"] = [*done.metadata.get("tags", []), f"fw-{framework}"]
            figure = done.metadata.get("mystnb", {}).get("figure", {})
            if figure.get("name"):
                figure["name"] = _figure_label(figure["name"], framework)
            for output in done.get("outputs", []):
                scrapbook = output.get("metadata", {}).get("scrapbook")
                if scrapbook and "name" in scrapbook:
                    scrapbook["name"] = f"{framework}.{scrapbook['name']}"
            merged.cells.append(done)
    for number, cell in enumerate(merged.cells):
        cell.id = f"cell-{number}"  # stable, so that an unchanged page is not rewritten
    return merged


def write_merged(md: Path) -> bool:
    """Write `<page>.tabs.json` if its content changes (Sphinx rereads a page by its time)."""
    text = json.dumps(merge(md), indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return write_if_changed(merged_page(md), text)


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


def build(*options: str | Path, capture: bool = False) -> subprocess.CompletedProcess:
    """Merge the notebook pages, then build the book from them with Jupyter Book, warnings as
    errors: `make book`'s HTML and the export's reading of the book (`--builder`)."""
    if write_all():
        return subprocess.CompletedProcess([], 1, "", "a notebook page could not be merged\n")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [jupyter_book, "build", ROOT, "--warningiserror", "--keep-going", *options]
    return subprocess.run(command, capture_output=capture, text=True)
