"""`make notebooks` regenerates the .ipynb files byte for byte, and only those that need it."""

from __future__ import annotations

import copy
import json
import uuid

import nbformat
import pytest

from tools import execute

WIDGET_PAGE = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# Two linked sliders

```{code-cell} ipython3
import ipywidgets

a, b = ipywidgets.IntSlider(value=3), ipywidgets.IntSlider()
ipywidgets.jslink((a, "value"), (b, "value"))
ipywidgets.VBox([a, b])
```

```{code-cell} ipython3
print("sum", a.value + b.value)
```
"""


def widget_notebook(ids: list[str]) -> nbformat.NotebookNode:
    """A notebook as nbclient leaves it: a box of two sliders, with the given model ids."""
    box, first, second, layout = ids
    state = {
        layout: {"model_name": "LayoutModel", "state": {}},
        first: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}"}},
        second: {"model_name": "IntSliderModel", "state": {"layout": f"IPY_MODEL_{layout}"}},
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


def random_ids() -> list[str]:
    return [uuid.uuid4().hex for _ in range(4)]


def test_widget_ids_depend_on_the_notebook_not_on_chance():
    first = execute.stable_widget_ids(widget_notebook(random_ids()), "page")
    second = execute.stable_widget_ids(widget_notebook(random_ids()), "page")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    other_page = execute.stable_widget_ids(widget_notebook(random_ids()), "another-page")
    assert json.dumps(first) != json.dumps(other_page)


def test_widget_ids_are_replaced_consistently():
    ids = random_ids()
    stable = execute.stable_widget_ids(widget_notebook(ids), "page")
    text = json.dumps(stable)
    assert not any(old in text for old in ids)
    state = stable.metadata["widgets"][execute.WIDGET_STATE]["state"]
    view = stable.cells[0].outputs[0].data[execute.WIDGET_VIEW]["model_id"]
    references = execute.MODEL_REFERENCE.findall(text)
    assert view in state and references and set(references) <= set(state)
    assert len(state) == 4


def test_the_order_of_the_saved_state_does_not_matter():
    ids = random_ids()
    notebook = widget_notebook(ids)
    shuffled = copy.deepcopy(notebook)
    state = shuffled.metadata["widgets"][execute.WIDGET_STATE]["state"]
    shuffled.metadata["widgets"][execute.WIDGET_STATE]["state"] = dict(reversed(state.items()))
    assert execute.stable_widget_ids(notebook, "p") == execute.stable_widget_ids(shuffled, "p")


@pytest.fixture
def md(tmp_path):
    md = tmp_path / "sliders.md"
    md.write_text(WIDGET_PAGE)
    return md


def test_unchanged_notebooks_are_not_executed_again(md, monkeypatch):
    runs = []
    monkeypatch.setattr(execute, "execute_notebook", _fake_execute(runs))
    what, notebook = execute.refresh(md)
    assert what == "executed"
    assert execute.write(md, notebook) is True
    assert execute.refresh(md)[0] == "unchanged"
    # a markdown edit changes no output; a code edit does
    md.write_text(md.read_text().replace("# Two linked sliders", "# Linked sliders"))
    assert execute.refresh(md)[0] == "unchanged"
    md.write_text(md.read_text().replace('"sum"', '"total"'))
    assert execute.refresh(md)[0] == "executed"
    assert len(runs) == 2


def test_a_page_that_imports_d2lsave_runs_again_when_d2lsave_changes(md, monkeypatch):
    monkeypatch.setattr(execute, "execute_notebook", _fake_execute([]))
    md.write_text(md.read_text().replace("import ipywidgets", "import ipywidgets\nimport d2lsave"))
    execute.write(md, execute.refresh(md)[1])
    assert execute.refresh(md)[0] == "unchanged"
    monkeypatch.setattr(execute, "package_digest", lambda: "another package")
    assert execute.refresh(md)[0] == "executed"


def _fake_execute(runs: list):
    """`execute` without a kernel: the synced notebook, as if every cell had run once."""

    def fake(md, framework=execute.DEFAULT):
        runs.append(md)
        notebook = execute.sync(md, framework)
        for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
            cell.execution_count = count + 1
        notebook.metadata[execute.INPUTS_KEY] = execute.inputs_digest(md, notebook)
        return notebook

    return fake


@pytest.mark.kernel
def test_executing_twice_gives_the_same_bytes(md):
    execute.write(md, execute.refresh(md, everything=True)[1])
    first = md.with_suffix(".ipynb").read_bytes()
    assert b"IPY_MODEL_" in first and b"sum 3" in first
    assert execute.write(md, execute.refresh(md, everything=True)[1]) is False
    assert md.with_suffix(".ipynb").read_bytes() == first


def test_only_the_state_of_the_widgets_a_notebook_shows_is_kept():
    notebook = widget_notebook(random_ids())
    state = notebook.metadata["widgets"][execute.WIDGET_STATE]["state"]
    shown = set(state)
    closed = uuid.uuid4().hex  # a progress bar that closed: its model stays, its view went
    state[closed] = {"model_name": "FloatProgressModel", "state": {}}
    sliders = [
        value
        for key, model in state.items()
        if model["model_name"] == "IntSliderModel"
        for value in [f"IPY_MODEL_{key}"]
    ]
    link = uuid.uuid4().hex  # a jslink between the sliders: nothing shown refers to it
    state[link] = {
        "model_name": "LinkModel",
        "state": {"source": [sliders[0], "value"], "target": [sliders[1], "value"]},
    }
    shown.add(link)
    kept = execute._shown_widgets(notebook)
    assert set(kept.metadata["widgets"][execute.WIDGET_STATE]["state"]) == shown
    kept.cells[0].outputs = []
    assert "widgets" not in execute._shown_widgets(kept).metadata
