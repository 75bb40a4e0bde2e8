"""One source, several frameworks: splitting a page into notebooks and merging them back."""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat
import pytest
import yaml

import d2lsetup
from tests.conftest import ROOT
from tools import execute, frameworks, render
from tools.frameworks import FRAMEWORKS, FrameworkError, derived_notebook, prose_for, split
from tools.render import merge

PAGE = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
        format_version: 0.13
    kernelspec:
      display_name: Python 3 (ipykernel)
      language: python
      name: python3
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
    mystnb:
      figure:
        name: fig-a
    ---
    #@tab all
    print(x)
    ```
    """
)


def page(tmp_path: Path, text: str = PAGE) -> Path:
    md = tmp_path / "page.md"
    md.write_text(text)
    return md


def code(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_cells_go_to_the_frameworks_their_tab_line_names(tmp_path):
    source = jupytext.read(page(tmp_path))
    assert code(split(source, "pytorch")) == ['x = "torch"', 'glue("x", x)', "print(x)"]
    assert code(split(source, "jax")) == ['x = "jax or tf"', 'glue("x", x)', "print(x)"]
    assert code(split(source, "tensorflow")) == code(split(source, "jax"))
    assert code(split(source, "mxnet")) == ['x = "mxnet"', 'glue("x", x)', "print(x)"]


def test_each_framework_gets_its_kernel(tmp_path):
    source = jupytext.read(page(tmp_path))
    assert split(source, "mxnet").metadata.kernelspec.name == "mxnet"
    assert split(source, "jax").metadata.kernelspec.name == "python3"


def test_framework_prose_is_kept_for_its_framework_only():
    text = "Shared.\n\n```{framework} jax, mxnet\nOnly some.\n```\n\nAfter.\n"
    assert prose_for(text, "jax") == "Shared.\n\nOnly some.\n\nAfter.\n"
    assert prose_for(text, "mxnet") == prose_for(text, "jax")
    assert prose_for(text, "pytorch") == "Shared.\n\n\nAfter.\n"


def test_an_unknown_framework_is_an_error_naming_the_cell_and_the_value(tmp_path):
    md = page(tmp_path, PAGE.replace("#@tab mxnet", "#@tab mxnt"))
    with pytest.raises(FrameworkError, match=r"cell \d+: framework 'mxnt' is not one of"):
        frameworks.framework_notebooks(md)


def executed(md: Path) -> None:
    """Stand-ins for the notebooks `make notebooks` executes: each glues its own value, and
    records the digest of the inputs it ran from."""
    for framework, path, notebook in frameworks.framework_notebooks(md):
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.execution_count = 1
                cell.outputs = [
                    nbformat.v4.new_output(
                        "display_data",
                        data={"application/papermill.record/text/plain": repr(framework)},
                        metadata={"scrapbook": {"name": "x", "mime_prefix": ""}},
                    )
                ]
        notebook.metadata[execute.INPUTS_KEY] = execute.inputs_digest(md, notebook)
        nbformat.write(notebook, path)


def test_merge_keeps_every_frameworks_cells_tagged_in_source_order(tmp_path):
    md = page(tmp_path)
    executed(md)
    merged = merge(md)
    tags = [
        [t for t in cell.metadata.get("tags", []) if t.startswith("fw-")]
        for cell in merged.cells
        if cell.cell_type == "code"
    ]
    assert tags == [
        ["fw-pytorch"],
        ["fw-jax"],
        ["fw-tensorflow"],
        ["fw-mxnet"],
        *[[f"fw-{fw}"] for fw in FRAMEWORKS],  # glue, #@tab all
        *[[f"fw-{fw}"] for fw in FRAMEWORKS],  # the figure
    ]


def test_merge_gives_each_framework_its_own_glue_and_figure(tmp_path):
    md = page(tmp_path)
    executed(md)
    merged = merge(md)
    names = {
        output.metadata.scrapbook.name
        for cell in merged.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    }
    assert names == {f"{fw}.x" for fw in FRAMEWORKS}
    figures = [
        cell.metadata["mystnb"]["figure"]["name"]
        for cell in merged.cells
        if "mystnb" in cell.metadata
    ]
    assert figures == ["fig-a", "fig-a-jax", "fig-a-tensorflow", "fig-a-mxnet"]
    prose = next(c.source for c in merged.cells if "The value" in c.source)
    for fw in FRAMEWORKS:
        assert f"[{{glue:text}}`{fw}.x`]{{.fw-only .fw-{fw}}}" in prose
    assert "[{numref}`fig-a-mxnet`]{.fw-only .fw-mxnet}" in prose
    jax_prose = next(c.source for c in merged.cells if "Keys" in c.source)
    assert "```{framework} jax\nKeys: {glue:text}`jax.x`.\n```" in jax_prose


def test_a_glue_directive_pastes_the_output_of_the_framework_that_computes_it():
    prose = "Intro.\n\n```{glue} explorer\n```\n\nMore: {glue:text}`n`.\n"
    merged = render.merged_prose(prose, set(), shared=("pytorch",))
    assert "```{glue} pytorch.explorer\n```" in merged
    assert "{glue:text}`pytorch.n`" in merged
    with pytest.raises(FrameworkError, match="glue directive of `explorer` pastes one output"):
        render.merged_prose(prose, set(), shared=FRAMEWORKS)


STALE = r"page\.md changed since .*page\.{}ipynb was executed .*: run `make notebooks`"


def test_merge_refuses_a_notebook_older_than_its_page(tmp_path):
    md = page(tmp_path)
    executed(md)
    md.write_text(PAGE.replace('x = "mxnet"', 'x = "changed"'))
    with pytest.raises(FrameworkError, match=STALE.format(r"mxnet\.")):
        merge(md)


def test_merge_refuses_a_notebook_run_with_another_d2lsave(tmp_path, monkeypatch):
    md = page(tmp_path, PAGE.replace('x = "torch"', 'import d2lsave\nx = "torch"'))
    executed(md)
    merge(md)
    monkeypatch.setattr(execute, "package_digest", lambda: "another package")
    with pytest.raises(FrameworkError, match=STALE.format("")):
        merge(md)


ONE_FRAMEWORK = PAGE.split("```{code-cell}")[0] + (
    '```{code-cell} ipython3\nglue("x", x)\n```\n\nThe value is {glue:text}`x`.\n'
)


def test_a_page_of_one_framework_is_its_notebook_with_its_widgets(tmp_path):
    md = page(tmp_path, ONE_FRAMEWORK)
    executed(md)
    stored = nbformat.read(derived_notebook(md), as_version=4)
    stored.metadata["widgets"] = {execute.WIDGET_STATE: {"state": {"a1": {"model": 1}}}}
    nbformat.write(stored, derived_notebook(md))
    merged = merge(md)
    assert merged.metadata["widgets"][execute.WIDGET_STATE]["state"] == {"a1": {"model": 1}}
    [cell] = [cell for cell in merged.cells if cell.cell_type == "code"]
    assert cell.source == 'glue("x", x)' and cell.outputs[0].metadata.scrapbook.name == "pytorch.x"
    assert not cell.metadata.get("tags")  # no framework's tag: every reader sees it
    assert merged.cells[-1].source == "The value is {glue:text}`pytorch.x`."


def test_merging_the_book_stops_at_a_stale_page_and_names_it(tmp_path, monkeypatch, capsys):
    fresh, stale = page(tmp_path), tmp_path / "b.md"
    stale.write_text(ONE_FRAMEWORK)
    executed(fresh)
    executed(stale)
    render.write_merged(stale)
    stale.write_text(ONE_FRAMEWORK.replace('glue("x", x)', 'glue("x", 2)'))
    monkeypatch.setattr(render, "toc_notebooks", lambda: [fresh, stale])
    assert render.write_all() == 1
    assert re.search(r"b\.md changed since .*b\.ipynb was executed", capsys.readouterr().err)
    assert render.merged_page(fresh).exists()
    assert not render.merged_page(stale).exists()  # no build renders it as it was


def refreshed(md: Path, monkeypatch) -> dict[str, str]:
    """What `make notebooks` would do with each of the page's notebooks; none is executed."""
    monkeypatch.setattr(execute, "execute_notebook", lambda md, fw: nbformat.v4.new_notebook())
    return {fw: execute.refresh(md, framework=fw)[0] for fw in frameworks.page_frameworks(md)}


def test_make_notebooks_executes_exactly_the_notebooks_whose_inputs_changed(tmp_path, monkeypatch):
    md = page(tmp_path, PAGE.replace('x = "torch"', 'import d2lsave\nx = "torch"'))
    executed(md)
    assert set(refreshed(md, monkeypatch).values()) == {"unchanged"}
    # only PyTorch's notebook imports d2lsave: a new package makes it stale, and only it
    monkeypatch.setattr(execute, "package_digest", lambda: "another package")
    again = refreshed(md, monkeypatch)
    assert again.pop("pytorch") == "executed" and set(again.values()) == {"unchanged"}
    md.write_text(md.read_text().replace('x = "mxnet"', 'x = "changed"'))
    assert refreshed(md, monkeypatch)["mxnet"] == "executed"
    md.write_text(md.read_text().replace("# A Page", "# A Page, Retitled"))  # prose only
    assert refreshed(md, monkeypatch)["jax"] == "unchanged"


def test_a_removed_merged_page_is_written_again_and_an_unchanged_one_left(tmp_path):
    md = page(tmp_path)
    executed(md)
    assert render.write_merged(md) is True
    assert render.write_merged(md) is False  # unchanged: Sphinx does not reread it
    render.merged_page(md).unlink()
    assert render.write_merged(md) is True and render.merged_page(md).exists()


def test_merge_names_a_missing_notebook(tmp_path):
    md = page(tmp_path)
    with pytest.raises(FrameworkError, match=r"page\.ipynb is missing: run `make notebooks`"):
        merge(md)


CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_the_book_renders_the_merged_pages_not_the_sources(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    from book_extras import exclude_notebook_pages

    config = SimpleNamespace(exclude_patterns=["**/*.ipynb"])
    exclude_notebook_pages(SimpleNamespace(confdir=str(ROOT)), config)
    notebook_pages = [md.relative_to(ROOT).as_posix() for md in frameworks.toc_notebooks()]
    assert sorted(config.exclude_patterns) == sorted(["**/*.ipynb", *notebook_pages])
    assert render.MERGED_SUFFIX in CONFIG["sphinx"]["config"]["nb_custom_formats"]


def test_the_book_executes_no_notebook():
    assert CONFIG["execute"]["execute_notebooks"] == "off"


@pytest.mark.parametrize("md", frameworks.multi_framework_pages(), ids=lambda p: p.name)
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_frameworks_notebook_opens_with_its_setup_cell(md, framework):
    notebook = dict((fw, nb) for fw, _, nb in frameworks.framework_notebooks(md))[framework]
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert first.source == d2lsetup.setup_cell(framework)
    assert "hide-cell" in first.metadata.get("tags", [])


def test_the_merged_page_is_not_committed():
    ignored = (ROOT / ".gitignore").read_text()
    assert f"book/*{render.MERGED_SUFFIX}" in ignored.splitlines()


def test_merged_json_is_a_notebook_myst_nb_can_read(tmp_path):
    md = page(tmp_path)
    executed(md)
    render.write_merged(md)
    text = render.merged_page(md).read_text()
    nbformat.validate(nbformat.reads(text, as_version=4))
    assert json.loads(text)["metadata"]["kernelspec"]["name"] == "python3"
    assert render.write_merged(md) is False  # unchanged: not rewritten


def test_the_pytorch_modules_import_no_other_frameworks_module():
    """`from d2lsave import x` in a PyTorch page means the PyTorch x, never JAX's or MXNet's."""
    others = "|".join(FRAMEWORKS[1:])
    for module in (ROOT / "d2lsave").glob("*.py"):
        if module.stem in FRAMEWORKS[1:]:
            continue
        text = module.read_text()
        assert not re.search(rf"^\s*(from|import) d2lsave\.({others})\b", text, re.M), module.name


def test_without_execution_a_stale_notebook_is_an_error_naming_the_command(tmp_path):
    md = page(tmp_path)
    executed(md)
    md.write_text(PAGE.replace('x = "mxnet"', 'x = "changed"'))
    assert execute.refresh(md, framework="jax", execute=False)[0] == "unchanged"
    with pytest.raises(execute.StaleNotebook, match=r"page\.mxnet\.ipynb .* `make notebooks`"):
        execute.refresh(md, framework="mxnet", execute=False)


@pytest.fixture
def fifth_framework(monkeypatch):
    """The book with a fifth framework declared, as a new framework is added: one entry in
    d2lsetup.FRAMEWORKS (and its cells); every module that derives from it is reloaded."""
    import importlib

    declared = {
        **d2lsetup.FRAMEWORKS,
        "numpy": d2lsetup.Framework("numpy", "NumPy", "numpy", "python3", "Python 3", ".venv", {}),
    }
    monkeypatch.setattr(d2lsetup, "FRAMEWORKS", declared)
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    import book_extras

    saved = {module: dict(vars(module)) for module in (frameworks, render)}
    yield [importlib.reload(module) for module in (frameworks, render, book_extras)]
    monkeypatch.undo()
    for module, names in saved.items():  # the very objects other tests imported
        vars(module).clear()
        vars(module).update(names)
    sys.modules.pop("book_extras")


def test_a_declared_framework_gets_its_cells_setup_glue_and_switch(tmp_path, fifth_framework):
    fw, rendered, extras = fifth_framework
    text = PAGE.replace(
        "# A Page\n", "# A Page\n\n```{code-cell} ipython3\n#@tab all\n#@setup\n```\n"
    )
    md = page(tmp_path, text.replace("#@tab mxnet", "#@tab mxnet, numpy"))
    notebook = dict((name, nb) for name, _, nb in fw.framework_notebooks(md))["numpy"]
    assert code(notebook) == [
        d2lsetup.setup_cell("numpy"),
        'x = "mxnet"',
        'glue("x", x)',
        "print(x)",
    ]
    executed(md)
    merged = rendered.merge(md)
    prose = next(cell.source for cell in merged.cells if "The value" in cell.source)
    assert "[{glue:text}`numpy.x`]{.fw-only .fw-numpy}" in prose
    assert sum("fw-numpy" in cell.metadata.get("tags", []) for cell in merged.cells) == 4
    context = {}
    extras.framework_switch_data(None, "page", "page.html", context, None)
    assert '["numpy", "NumPy"]' in context["metatags"]
    assert 'html[data-framework="numpy"] .fw-only:not(.fw-numpy)' in context["metatags"]
    assert ".tag_fw-numpy" in context["metatags"].split('html[data-framework="pytorch"]')[1]
