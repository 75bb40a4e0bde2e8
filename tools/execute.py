"""Keep each framework's `.ipynb` derived from its page's `.md`, executed (`make notebooks`).

The MyST `.md` is the source; the `.ipynb` beside it is what Colab opens and nbval checks, so it
must hold the same cells plus their outputs. The pairing always flows from `.md` to `.ipynb`:
file timestamps, which git does not keep, never decide the direction, and the `.ipynb` carries
no jupytext pairing, so that saving it in JupyterLab never rewrites the `.md`.

* `sync` rewrites the cells of each `.ipynb` from its `.md` and keeps the outputs of cells
  whose code did not change;
* `execute` also runs a notebook from the top and stores the fresh outputs, but only when
  its inputs changed: its code cells, its kernel, or the `d2lsave` it imports. The digest of
  those inputs is stored in the notebook, so that a second run with nothing changed, on any
  clone, leaves every file byte-identical (`--all` runs every notebook regardless);

Why not `jupytext --sync` or `jupytext --update --to ipynb`: `--sync` follows the pairing in
both directions by timestamp. `--update` merges exactly as `sync` below does (both call
`combine_inputs_with_outputs`), but it copies the `.md`'s pairing into the `.ipynb` and writes
to disk, while `execute` needs the merged notebook in memory, to run it before anything is
written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient

from tools.book import display_path, package_digest, toc_notebooks, write_if_changed
from tools.frameworks import DEFAULT, derived_notebook, page_frameworks, source_frameworks, split

IGNORED_CELL_METADATA = {"execution", "scrolled", "collapsed", "jp-MarkdownHeadingCollapsed"}
TIMEOUT_SECONDS = 600
INPUTS_KEY = "executed_inputs"  # notebook metadata: digest of what the outputs were made from
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MODEL_REFERENCE = re.compile(r"IPY_MODEL_([0-9a-f]{32})")


def source_cells(md: Path, framework: str = DEFAULT) -> nbformat.NotebookNode:
    """The cells the `.md` gives one framework's notebook (all of them, on a one-framework page)."""
    source = jupytext.read(md)
    if framework not in source_frameworks(source):
        raise ValueError(f"{display_path(md)} has no {framework!r} notebook")
    return split(source, framework, display_path(md))


def imports_package(notebook: nbformat.NotebookNode) -> bool:
    """Whether the notebook's code imports `d2lsave`, so that its outputs depend on it."""
    from tools.book import IMPORTS_PACKAGE

    return any(
        cell.cell_type == "code" and IMPORTS_PACKAGE.search(cell.source) for cell in notebook.cells
    )


def unpaired(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without jupytext's pairing, which the `.md` header may still declare.

    With `formats` in its metadata, jupytext's contents manager in JupyterLab would write the
    `.md` whenever the `.ipynb` is saved, the opposite of the direction the book derives in.
    """
    notebook.metadata.get("jupytext", {}).pop("formats", None)
    return notebook


def sync(
    md: Path, framework: str = DEFAULT, source: nbformat.NotebookNode | None = None
) -> nbformat.NotebookNode:
    """The `.md`'s cells (`source`, if read already) with the outputs the current `.ipynb`
    holds for unchanged code."""
    source = source_cells(md, framework) if source is None else source
    ipynb = derived_notebook(md, framework)
    if ipynb.exists():
        source = combine_inputs_with_outputs(source, nbformat.read(ipynb, as_version=4))
    return unpaired(source)


def inputs_digest(md: Path, notebook: nbformat.NotebookNode) -> str:
    """A sha256 of everything a notebook's outputs are made from.

    That is its code cells (source and metadata), its kernel and, for a page that imports
    `d2lsave`, the package's code. Markdown cells are left out: they change no output.
    """
    code = [
        [cell.source, {k: v for k, v in cell.metadata.items() if k not in IGNORED_CELL_METADATA}]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    inputs = {"code": code, "kernelspec": notebook.metadata.get("kernelspec", {})}
    if imports_package(notebook):
        inputs["package"] = package_digest()
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def clear_outputs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as a fresh start sees it: no outputs and no execution counts."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def _widget_views(notebook: nbformat.NotebookNode) -> list[str]:
    """The model ids of the widget views the outputs show, in cell and output order; a glued
    view, whose mime type has a prefix, included."""
    return [
        view["model_id"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        for key, view in output.get("data", {}).items()
        if key.endswith(WIDGET_VIEW) and isinstance(view, dict) and "model_id" in view
    ]


def _references(model: dict) -> list[str]:
    """The ids of the models a widget model refers to (`IPY_MODEL_<id>`), in order."""
    return MODEL_REFERENCE.findall(json.dumps(model, sort_keys=True))


def _shown_widgets(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with the widget state of the widgets its outputs show, of what they are
    made of, and of what links them (a jslink), and no other.

    A widget that shows nothing in the end (a progress bar that closed, say) would still leave
    its models in the saved state, and the book would load the widget manager for a page
    that shows no widget.
    """
    widgets = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    state = widgets.get("state", {})
    pending = _widget_views(notebook)
    references = {model_id: set(_references(model)) for model_id, model in state.items()}
    shown: set[str] = set()
    while pending:
        shown.update(model_id for model_id in pending if model_id in state)
        pending = [ref for model_id in pending for ref in references.get(model_id, ())]
        pending += [  # and what acts on a shown widget from outside it, as a jslink does
            model_id
            for model_id, refs in references.items()
            if model_id not in shown and refs & shown
        ]
        pending = [model_id for model_id in pending if model_id not in shown]
    if not shown:
        notebook.metadata.pop("widgets", None)
    else:
        widgets["state"] = {key: value for key, value in state.items() if key in shown}
    return notebook


def _widget_order(notebook: nbformat.NotebookNode) -> list[str]:
    """Widget model ids in order of appearance: each output's view, then the models it uses.

    Depth-first from the views, in cell and output order, then the models no view reaches;
    so the order depends on the notebook's content, never on the random ids themselves.
    """
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    order: list[str] = []
    seen: set[str] = set()
    pending: list[str] = []
    for root in _widget_views(notebook) + list(state):
        pending.append(root)
        while pending:
            model_id = pending.pop()
            if model_id in seen:
                continue
            seen.add(model_id)
            order.append(model_id)
            pending.extend(reversed(_references(state.get(model_id, {}))))
    return order


def _replace_ids(value: Any, pattern: re.Pattern, mapping: dict[str, str]) -> Any:
    """`value` with every id of `mapping` replaced, in dictionary keys and strings alike."""
    if isinstance(value, str):
        return pattern.sub(lambda match: mapping[match.group(0)], value)
    if isinstance(value, dict):
        return {
            _replace_ids(key, pattern, mapping): _replace_ids(item, pattern, mapping)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replace_ids(item, pattern, mapping) for item in value]
    return value


def stable_widget_ids(notebook: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The notebook with its widget model ids derived from `name` and their order.

    ipywidgets gives each model a random uuid4, so every execution would rewrite the outputs
    and the saved widget state of a page with widgets. The ids are replaced consistently in
    the views, the state's keys and the `IPY_MODEL_` references between models.
    """
    order = _widget_order(notebook)
    if not order:
        return notebook
    mapping = {
        old: hashlib.sha256(f"{name}/widget/{index}".encode()).hexdigest()[:32]
        for index, old in enumerate(order)
    }
    pattern = re.compile("|".join(re.escape(old) for old in mapping))
    return nbformat.from_dict(_replace_ids(dict(notebook), pattern, mapping))


def execute_notebook(md: Path, framework: str = DEFAULT) -> nbformat.NotebookNode:
    """The `.md`'s cells executed from a fresh kernel of their framework, with their outputs."""
    notebook = clear_outputs(sync(md, framework))
    notebook.metadata.pop("widgets", None)
    client = NotebookClient(
        notebook,
        timeout=TIMEOUT_SECONDS,
        kernel_name=notebook.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(md.parent)}},
        record_timing=False,
    )
    client.execute()
    notebook = stable_widget_ids(_shown_widgets(notebook), derived_notebook(md, framework).stem)
    notebook.metadata[INPUTS_KEY] = inputs_digest(md, notebook)
    return notebook


def is_current(md: Path, notebook: nbformat.NotebookNode) -> bool:
    """Whether the synced notebook's stored outputs were made from its present inputs."""
    executed = all(
        cell.execution_count is not None
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.strip()
    )
    return executed and notebook.metadata.get(INPUTS_KEY) == inputs_digest(md, notebook)


class StaleNotebook(RuntimeError):
    """A notebook whose stored outputs were made from other inputs than its page's."""


def refresh(
    md: Path, everything: bool = False, framework: str = DEFAULT, execute: bool = True
) -> tuple[str, nbformat.NotebookNode]:
    """The notebook `make notebooks` writes, and whether it had to be executed for it; with
    `execute=False`, a notebook that would have to be is an error instead."""
    synced = sync(md, framework)
    if not everything and is_current(md, synced):
        return "unchanged", synced
    if not execute:
        raise StaleNotebook(
            f"{display_path(derived_notebook(md, framework))} was executed from other inputs than "
            f"{display_path(md)} has now (its code, kernel or the d2lsave it imports): "
            "run `make notebooks`"
        )
    return "executed", execute_notebook(md, framework)


def write(md: Path, notebook: nbformat.NotebookNode, framework: str = DEFAULT) -> bool:
    """Write the derived `.ipynb` atomically, and only if its bytes change; whether they did."""
    target = derived_notebook(md, framework)
    return write_if_changed(target, jupytext.writes(notebook, fmt="ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Derive each paired .ipynb from its .md.")
    parser.add_argument("action", choices=["sync", "execute"])
    parser.add_argument("pages", nargs="*", type=Path, help="default: every notebook in _toc.yml")
    parser.add_argument("--all", action="store_true", help="execute even unchanged notebooks")
    args = parser.parse_args(argv)
    pages = [page.resolve() for page in args.pages] or toc_notebooks()
    for page in pages:
        for framework in page_frameworks(page):
            if args.action == "execute":
                what, notebook = refresh(page, everything=args.all, framework=framework)
            else:
                what, notebook = "synced", sync(page, framework)
            written = write(page, notebook, framework)
            target = display_path(derived_notebook(page, framework))
            print(f"{what}{'' if written else ', left as it was'}: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
