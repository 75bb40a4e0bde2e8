"""One source, several frameworks: splitting a page into notebooks, refreshing and merging them."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

import d2lsetup
from tests.conftest import ROOT
from tools import execute, frameworks, render
from tools.book import config
from tools.execute import StaleNotebook
from tools.frameworks import FRAMEWORKS, FrameworkError, derived_notebook, prose_for, split
from tools.render import merge

PAGE = """---
jupytext: {text_representation: {extension: .md, format_name: myst}}
---

# A Page

```{code-cell} ipython3
x = "torch"
```

```{code-cell} ipython3
#@tab jax, tensorflow
x = "jax or tf"
```

```{code-cell} ipython3
#@tab mxnet
x = "mxnet"
```

```{code-cell} ipython3
#@tab all
glue("x", x)
```

The value is {glue:text}`x`, see {numref}`fig-a`.

```{framework} jax
Keys: {glue:text}`x`.
```

```{code-cell} ipython3
---
mystnb: {figure: {name: fig-a}}
---
#@tab all
print(x)
```
"""
ONE_FRAMEWORK = PAGE.split("```{code-cell}")[0] + (
    '```{code-cell} ipython3\nglue("x", x)\n```\n\nThe value is {glue:text}`x`.\n'
)


def page(tmp_path: Path, text: str = PAGE, name: str = "page.md") -> Path:
    md = tmp_path / name
    md.write_text(text)
    return md


def code(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def executed(md: Path) -> Path:
    """Stand-ins for the notebooks `make notebooks` executes, each cell gluing `x`."""
    glued = {"name": "x", "mime_prefix": ""}
    for _, path, notebook in frameworks.framework_notebooks(md):
        for cell in (cell for cell in notebook.cells if cell.cell_type == "code"):
            data = {"application/papermill.record/text/plain": "1"}
            output = nbformat.v4.new_output("display_data", data, metadata={"scrapbook": glued})
            cell.execution_count, cell.outputs = 1, [output]
        notebook.metadata[execute.INPUTS_KEY] = execute.inputs_digest(notebook)
        nbformat.write(notebook, path)
    return md


def test_cells_and_prose_go_to_the_frameworks_they_name_and_no_other(tmp_path):
    source = jupytext.read(page(tmp_path))
    assert code(split(source, "pytorch")) == ['x = "torch"', 'glue("x", x)', "print(x)"]
    assert code(split(source, "jax")) == ['x = "jax or tf"', 'glue("x", x)', "print(x)"]
    assert code(split(source, "tensorflow")) == code(split(source, "jax"))
    assert code(split(source, "mxnet")) == ['x = "mxnet"', 'glue("x", x)', "print(x)"]
    assert split(source, "mxnet").metadata.kernelspec.name == "mxnet"
    assert split(source, "jax").metadata.kernelspec.name == "python3"
    text = "Shared.\n\n```{framework} jax, mxnet\nOnly some.\n```\n\nAfter.\n"
    assert prose_for(text, "jax") == "Shared.\n\nOnly some.\n\nAfter.\n"
    assert prose_for(text, "mxnet") == prose_for(text, "jax")
    assert prose_for(text, "pytorch") == "Shared.\n\n\nAfter.\n"
    md = page(tmp_path, PAGE.replace("#@tab mxnet", "#@tab mxnt"))
    with pytest.raises(FrameworkError, match=r"cell \d+: framework 'mxnt' is not one of"):
        frameworks.framework_notebooks(md)


def test_merge_tags_each_frameworks_cells_in_source_order_with_its_glue_and_figure(tmp_path):
    merged = merge(executed(page(tmp_path)))
    cells = [cell for cell in merged.cells if cell.cell_type == "code"]
    tags = [[t for t in cell.metadata.get("tags", []) if t.startswith("fw-")] for cell in cells]
    everyone = [[f"fw-{fw}"] for fw in FRAMEWORKS]
    assert tags == [["fw-pytorch"], ["fw-jax"], ["fw-tensorflow"], ["fw-mxnet"], *everyone * 2]
    names = {output.metadata.scrapbook.name for cell in cells for output in cell.outputs}
    assert names == {f"{fw}.x" for fw in FRAMEWORKS}
    figures = [c.metadata["mystnb"]["figure"]["name"] for c in cells if "mystnb" in c.metadata]
    assert figures == ["fig-a", "fig-a-jax", "fig-a-tensorflow", "fig-a-mxnet"]
    prose = next(c.source for c in merged.cells if "The value" in c.source)
    for fw in FRAMEWORKS:
        assert f"[{{glue:text}}`{fw}.x`]{{.fw-only .fw-{fw}}}" in prose
    assert "[{numref}`fig-a-mxnet`]{.fw-only .fw-mxnet}" in prose
    jax_prose = next(c.source for c in merged.cells if "Keys" in c.source)
    assert "```{framework} jax\nKeys: {glue:text}`jax.x`.\n```" in jax_prose
    # a glued output pasted as a block (the explorer) is the one framework's that computes it
    prose = "Intro.\n\n```{glue} explorer\n```\n\nMore: {glue:text}`n`.\n"
    merged = render.merged_prose(prose, set(), shared=("pytorch",))
    assert "```{glue} pytorch.explorer\n```" in merged
    assert "{glue:text}`pytorch.n`" in merged
    with pytest.raises(FrameworkError, match="glue directive of `explorer` pastes one output"):
        render.merged_prose(prose, set(), shared=FRAMEWORKS)


def test_only_notebooks_whose_inputs_changed_are_executed_and_the_book_takes_no_stale_one(
    tmp_path, monkeypatch
):
    md = executed(page(tmp_path, PAGE.replace('x = "torch"', 'import d2lsave\nx = "torch"')))
    monkeypatch.setattr(execute, "execute_notebook", lambda md, fw: nbformat.v4.new_notebook())

    def refreshed() -> dict[str, str]:
        return {fw: execute.refresh(md, framework=fw)[0] for fw in FRAMEWORKS}

    assert set(refreshed().values()) == {"unchanged"}
    merge(md)
    execute.write(md, execute.refresh(md)[1])
    assert execute.write(md, execute.refresh(md)[1]) is False  # nothing changed: not rewritten
    # only PyTorch's notebook imports d2lsave: a new package makes it stale, and only it
    monkeypatch.setattr(execute, "package_digest", lambda: "another package")
    again = refreshed()
    assert again.pop("pytorch") == "executed" and set(again.values()) == {"unchanged"}
    stale = r"page\.{}ipynb was executed from other inputs than .*page\.md has now .* notebooks`"
    with pytest.raises(StaleNotebook, match=stale.format("")):
        merge(md)
    md.write_text(md.read_text().replace('x = "mxnet"', 'x = "changed"'))
    assert refreshed()["mxnet"] == "executed"
    with pytest.raises(StaleNotebook, match=stale.format(r"mxnet\.")):
        execute.refresh(md, framework="mxnet", execute=False)
    md.write_text(md.read_text().replace("# A Page", "# A Page, Retitled"))  # prose only
    assert refreshed()["jax"] == "unchanged"
    derived_notebook(md).unlink()
    with pytest.raises(StaleNotebook, match=r"page\.ipynb is missing: run `make notebooks`"):
        merge(md)


def test_merged_pages_are_written_when_they_change_and_removed_when_stale(
    tmp_path, monkeypatch, capsys
):
    fresh, single = executed(page(tmp_path)), executed(page(tmp_path, ONE_FRAMEWORK, "b.md"))
    stored = nbformat.read(derived_notebook(single), as_version=4)
    stored.metadata["widgets"] = {execute.WIDGET_STATE: {"state": {"a1": {"model": 1}}}}
    nbformat.write(stored, derived_notebook(single))
    monkeypatch.setattr(render, "toc_notebooks", lambda: [fresh, single])
    assert render.write_all() == 0
    text = render.merged_page(fresh).read_text()
    nbformat.validate(nbformat.reads(text, as_version=4))  # myst-nb can read it
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"
    assert render.MERGED_SUFFIX in config()["sphinx"]["config"]["nb_custom_formats"]
    assert config()["execute"]["execute_notebooks"] == "off"  # the book executes none
    # a page of one framework is its notebook, with its widgets, every cell every reader's
    merged = nbformat.reads(render.merged_page(single).read_text(), as_version=4)
    assert merged.metadata["widgets"][execute.WIDGET_STATE]["state"] == {"a1": {"model": 1}}
    [cell] = [cell for cell in merged.cells if cell.cell_type == "code"]
    assert cell.source == 'glue("x", x)' and cell.outputs[0].metadata.scrapbook.name == "pytorch.x"
    assert not cell.metadata.get("tags")
    assert merged.cells[-1].source == "The value is {glue:text}`pytorch.x`."
    assert render.write_merged(fresh) is False  # unchanged: Sphinx does not reread it
    render.merged_page(fresh).unlink()
    assert render.write_merged(fresh) is True and render.merged_page(fresh).exists()
    single.write_text(ONE_FRAMEWORK.replace('glue("x", x)', 'glue("x", 2)'))
    assert render.write_all() == 1
    assert re.search(r"b\.ipynb was executed from other inputs", capsys.readouterr().err)
    assert render.merged_page(fresh).exists()
    assert not render.merged_page(single).exists()  # no build renders it as it was


def test_the_pytorch_modules_import_no_other_frameworks_module():
    """`from d2lsave import x` in a PyTorch page means the PyTorch x, never JAX's or MXNet's."""
    others = "|".join(FRAMEWORKS[1:])
    for module in (ROOT / "d2lsave").glob("*.py"):
        if module.stem not in FRAMEWORKS[1:]:
            text = module.read_text()
            assert not re.search(rf"^\s*(from|import) d2lsave\.({others})\b", text, re.M), module


@pytest.fixture
def fifth_framework(monkeypatch):
    """The book with a fifth framework declared, as a new framework is added: one entry in
    d2lsetup.FRAMEWORKS (and its cells); every module that derives from it is reloaded."""
    numpy = d2lsetup.Framework("numpy", "NumPy", "numpy", "python3", "Python 3", ".venv", {})
    monkeypatch.setattr(d2lsetup, "FRAMEWORKS", {**d2lsetup.FRAMEWORKS, "numpy": numpy})
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import book_extras

    for module in (frameworks, render):
        for name, value in list(vars(module).items()):  # restored after: other tests hold them
            monkeypatch.setattr(module, name, value)
    yield [importlib.reload(module) for module in (frameworks, render, book_extras)]
    sys.modules.pop("book_extras")


def test_a_declared_framework_gets_its_cells_setup_glue_and_switch(tmp_path, fifth_framework):
    fw, rendered, extras = fifth_framework
    text = PAGE.replace(
        "# A Page\n", "# A Page\n\n```{code-cell} ipython3\n#@tab all\n#@setup\n```\n"
    )
    md = page(tmp_path, text.replace("#@tab mxnet", "#@tab mxnet, numpy"))
    notebook = {name: nb for name, _, nb in fw.framework_notebooks(md)}["numpy"]
    setup = d2lsetup.setup_cell("numpy")
    assert code(notebook) == [setup, 'x = "mxnet"', 'glue("x", x)', "print(x)"]
    merged = rendered.merge(executed(md))
    prose = next(cell.source for cell in merged.cells if "The value" in cell.source)
    assert "[{glue:text}`numpy.x`]{.fw-only .fw-numpy}" in prose
    assert sum("fw-numpy" in cell.metadata.get("tags", []) for cell in merged.cells) == 4
    context = {}
    extras.framework_switch_data(None, "page", "page.html", context, None)
    assert '["numpy", "NumPy"]' in context["metatags"]
    assert 'html[data-framework="numpy"] .fw-only:not(.fw-numpy)' in context["metatags"]
    assert ".tag_fw-numpy" in context["metatags"].split('html[data-framework="pytorch"]')[1]
