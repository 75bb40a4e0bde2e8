"""Each framework's `.ipynb` of a page: the `.md`'s cells, never paired with it, with outputs
executed again only when the digest of their inputs changed, so regenerating is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from nbclient import NotebookClient
from nbformat import NotebookNode

from tools.book import PACKAGE, display_path, package_digest, write_if_changed
from tools.frameworks import DEFAULT, FrameworkError, derived_notebook, split

IGNORED_CELL_METADATA = {"execution", "scrolled", "collapsed", "jp-MarkdownHeadingCollapsed"}
IMPORTS_PACKAGE = re.compile(
    rf"^\s*(?:from\s+{PACKAGE}(?:\.\w+)*\s+import|import\s+{PACKAGE}\b)", re.M
)
INPUTS_KEY = "executed_inputs"  # notebook metadata: digest of what the outputs were made from
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MODEL_REFERENCE = re.compile(r"IPY_MODEL_([0-9a-f]{32})")


class StaleNotebook(FrameworkError):
    """A notebook missing, or executed from other inputs than its page has now."""


def source_cells(md: Path, framework: str = DEFAULT) -> NotebookNode:
    """The cells the `.md` gives one framework's notebook."""
    return split(jupytext.read(md), framework, display_path(md))


def sync(md: Path, framework: str = DEFAULT, source: NotebookNode | None = None) -> NotebookNode:
    """The `.md`'s cells (`source`, if split already) with the outputs the current `.ipynb`
    holds for unchanged code, and without the `.md`'s jupytext pairing."""
    source = source_cells(md, framework) if source is None else source
    ipynb = derived_notebook(md, framework)
    if ipynb.exists():
        source = combine_inputs_with_outputs(source, nbformat.read(ipynb, as_version=4))
    source.metadata.get("jupytext", {}).pop("formats", None)
    return source


def inputs_digest(notebook: NotebookNode) -> str:
    """A sha256 of what the outputs are made from: code cells, kernel and the `d2lsave` they
    import, if they do. Markdown changes no output."""
    code = [
        [cell.source, {k: v for k, v in cell.metadata.items() if k not in IGNORED_CELL_METADATA}]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    inputs = {"code": code, "kernelspec": notebook.metadata.get("kernelspec", {})}
    if any(IMPORTS_PACKAGE.search(source) for source, _ in code):
        inputs["package"] = package_digest()
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def is_current(notebook: NotebookNode) -> bool:
    """Whether the synced notebook's stored outputs were made from its present inputs."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    executed = all(cell.execution_count is not None for cell in code)
    return executed and notebook.metadata.get(INPUTS_KEY) == inputs_digest(notebook)


def stable_widgets(notebook: NotebookNode, name: str) -> NotebookNode:
    """The notebook with the saved state of only the widgets its outputs show (so a closed
    progress bar loads no widget manager), their random model ids derived from `name`."""
    widgets = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {})
    state = widgets.get("state", {})
    references = {
        model_id: MODEL_REFERENCE.findall(json.dumps(model, sort_keys=True))
        for model_id, model in state.items()
    }
    views = [
        view["model_id"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        for key, view in output.get("data", {}).items()
        if key.endswith(WIDGET_VIEW)  # a glued view's key has a prefix
    ]
    # shown: what a view reaches, and what refers to that (a box's parent, a jslink)
    shown: set[str] = set()
    new = set(views) & state.keys()
    while new:
        shown |= new
        new = {ref for model_id in new for ref in references[model_id]}
        new |= {model_id for model_id, refs in references.items() if shown.intersection(refs)}
        new = (new & state.keys()) - shown
    state = {key: value for key, value in state.items() if key in shown}
    if state:
        widgets["state"] = state
    else:
        notebook.metadata.pop("widgets", None)
    order: list[str] = []  # depth first from each view, then the rest

    def visit(model_id: str) -> None:
        if model_id not in order:
            order.append(model_id)
            for ref in references.get(model_id, []):
                visit(ref)

    for root in views + list(state):
        visit(root)
    if not order:
        return notebook
    mapping = {
        old: hashlib.sha256(f"{name}/widget/{index}".encode()).hexdigest()[:32]
        for index, old in enumerate(order)
    }
    pattern = re.compile("|".join(map(re.escape, mapping)))
    text = pattern.sub(lambda old: mapping[old.group(0)], json.dumps(notebook, ensure_ascii=False))
    return nbformat.from_dict(json.loads(text))


def execute_notebook(md: Path, framework: str = DEFAULT) -> NotebookNode:
    """The `.md`'s cells executed from a fresh kernel of their framework, with their outputs."""
    notebook = sync(md, framework)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name=notebook.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(md.parent)}},
        record_timing=False,
    ).execute()
    notebook = stable_widgets(notebook, derived_notebook(md, framework).stem)
    notebook.metadata[INPUTS_KEY] = inputs_digest(notebook)
    return notebook


def refresh(
    md: Path,
    everything: bool = False,
    framework: str = DEFAULT,
    execute: bool = True,
    source: NotebookNode | None = None,
) -> tuple[str, NotebookNode]:
    """The notebook `make notebooks` writes, and whether it had to be executed for it; with
    `execute=False`, one that would have to be is a `StaleNotebook`."""
    synced = sync(md, framework, source)
    if not everything and is_current(synced):
        return "unchanged", synced
    if not execute:
        ipynb = derived_notebook(md, framework)
        raise StaleNotebook(
            f"{display_path(ipynb)} was executed from other inputs than {display_path(md)} has "
            "now (its code, kernel or the d2lsave it imports): run `make notebooks`"
            if ipynb.exists()
            else f"{display_path(ipynb)} is missing: run `make notebooks`"
        )
    return "executed", execute_notebook(md, framework)


def write(md: Path, notebook: NotebookNode, framework: str = DEFAULT) -> bool:
    """Write the derived `.ipynb` if its bytes change; whether they did."""
    return write_if_changed(derived_notebook(md, framework), jupytext.writes(notebook, fmt="ipynb"))
