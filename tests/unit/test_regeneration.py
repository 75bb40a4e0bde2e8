"""An executed notebook's widget state: the same bytes at every execution, only what it shows."""

from __future__ import annotations

import json
import uuid

import nbformat

from tools import execute


def widget_notebook() -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it: a box of two sliders, with random model ids."""
    box, first, second, layout = (uuid.uuid4().hex for _ in range(4))
    slider = {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}"}}
    state = {
        layout: {"model_name": "LayoutModel", "state": {}},
        first: slider,
        second: slider,
        box: {
            "model_name": "VBoxModel",
            "state": {"children": [f"IPY_MODEL_{first}", f"IPY_MODEL_{second}"]},
        },
    }
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {execute.WIDGET_STATE: {"state": state}}
    view = {execute.WIDGET_VIEW: {"model_id": box, "version_major": 2}, "text/plain": "VBox"}
    output = nbformat.v4.new_output("display_data", data=view)
    notebook.cells.append(nbformat.v4.new_code_cell("box", id="box-cell", outputs=[output]))
    return notebook


def state(notebook: nbformat.NotebookNode) -> dict:
    return notebook.metadata["widgets"][execute.WIDGET_STATE]["state"]


def test_widget_ids_are_replaced_consistently_by_ones_of_the_page_not_of_chance():
    notebook = widget_notebook()
    old = list(state(notebook))
    stable = execute.stable_widgets(notebook, "page")
    shuffled = widget_notebook()  # other random ids, the saved state in another order
    shuffled.metadata["widgets"][execute.WIDGET_STATE]["state"] = dict(
        reversed(state(shuffled).items())
    )
    assert execute.stable_widgets(shuffled, "page") == stable
    assert execute.stable_widgets(widget_notebook(), "another-page") != stable
    text = json.dumps(stable)
    assert not any(model_id in text for model_id in old)
    view = stable.cells[0].outputs[0].data[execute.WIDGET_VIEW]["model_id"]
    references = execute.MODEL_REFERENCE.findall(text)
    assert view in state(stable) and references and set(references) <= set(state(stable))
    assert len(state(stable)) == 4


def test_only_the_state_of_the_widgets_a_notebook_shows_is_kept():
    notebook = widget_notebook()
    # a progress bar that closed: its model stays, its view went
    state(notebook)[uuid.uuid4().hex] = {"model_name": "FloatProgressModel", "state": {}}
    first, second = [f"IPY_MODEL_{key}" for key in list(state(notebook))[1:3]]  # the sliders
    state(notebook)[uuid.uuid4().hex] = {  # a jslink between them: nothing shown refers to it
        "model_name": "LinkModel",
        "state": {"source": [first, "value"], "target": [second, "value"]},
    }
    kept = [model["model_name"] for model in state(execute.stable_widgets(notebook, "p")).values()]
    assert sorted(kept) == ["IntSliderModel"] * 2 + ["LayoutModel", "LinkModel", "VBoxModel"]
    notebook.cells[0].outputs = []
    assert "widgets" not in execute.stable_widgets(notebook, "p").metadata
