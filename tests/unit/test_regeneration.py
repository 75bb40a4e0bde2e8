"""An executed notebook's widget state: the same bytes at every execution, only what it shows."""

from __future__ import annotations

import json
import uuid

import nbformat

from tools import execute


def widget_notebook(reverse: bool = False) -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it, with random model ids: a box of two sliders, shown, and
    a jslink between them; a closed progress bar's model, not shown."""
    box, first, second, layout, link, bar = (uuid.uuid4().hex for _ in range(6))
    slider = {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}"}}
    state = {
        layout: {"model_name": "LayoutModel", "state": {}},
        first: slider,
        second: slider,
        box: {
            "model_name": "VBoxModel",
            "state": {"children": [f"IPY_MODEL_{first}", f"IPY_MODEL_{second}"]},
        },
        link: {  # nothing shown refers to it, but it refers to what is shown
            "model_name": "LinkModel",
            "state": {"source": [f"IPY_MODEL_{first}", "value"], "target": [f"IPY_MODEL_{second}"]},
        },
        bar: {"model_name": "FloatProgressModel", "state": {}},
    }
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {
        execute.WIDGET_STATE: {"state": dict(reversed(state.items())) if reverse else state}
    }
    view = {execute.WIDGET_VIEW: {"model_id": box, "version_major": 2}, "text/plain": "VBox"}
    output = nbformat.v4.new_output("display_data", data=view)
    notebook.cells.append(nbformat.v4.new_code_cell("box", id="box-cell", outputs=[output]))
    return notebook


def state(notebook: nbformat.NotebookNode) -> dict:
    return notebook.metadata["widgets"][execute.WIDGET_STATE]["state"]


def test_only_the_widgets_shown_are_kept_with_ids_of_the_page_not_of_chance():
    notebook = widget_notebook()
    old = list(state(notebook))
    stable = execute.stable_widgets(notebook, "page")
    # other random ids, the saved state in another order: the same notebook
    assert execute.stable_widgets(widget_notebook(reverse=True), "page") == stable
    assert execute.stable_widgets(widget_notebook(), "another-page") != stable
    text = json.dumps(stable)
    assert not any(model_id in text for model_id in old)
    view = stable.cells[0].outputs[0].data[execute.WIDGET_VIEW]["model_id"]
    references = execute.MODEL_REFERENCE.findall(text)
    assert view in state(stable) and references and set(references) <= set(state(stable))
    kept = sorted(model["model_name"] for model in state(stable).values())
    assert kept == ["IntSliderModel"] * 2 + ["LayoutModel", "LinkModel", "VBoxModel"]
    notebook.cells[0].outputs = []
    assert "widgets" not in execute.stable_widgets(notebook, "p").metadata
