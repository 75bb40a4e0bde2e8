"""The notebooks where readers run them: Colab's versions, a bare Jupyter, Binder's environment.

The fast tests check that the setup cell, binder/requirements.txt and constraints.txt agree.
The `colab` tests make fresh environments (kept under _build/ and put back as made before each
use) and run the notebooks there with tools/setup_cell.py's cells first: every page's
PyTorch, JAX and TensorFlow notebooks in the Colab-like one (MXNet's must stop in their first
cell), the PyTorch ones in the others. They take minutes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from d2lsetup import INSTALLERS, NO_DEPS, PACKAGES
from tests.conftest import ROOT
from tools import bare_runtime, colab_smoke, pip_sources
from tools.book_notebooks import toc_notebooks
from tools.frameworks import DEFAULT
from tools.setup_cell import SETUP_CELLS, has_setup_cell

NOTEBOOKS = toc_notebooks()
BINDER = bare_runtime.pins(bare_runtime.BINDER)
CONSTRAINTS = bare_runtime.pins(bare_runtime.CONSTRAINTS)
COLAB = bare_runtime.pins(colab_smoke.RUNTIME)
# What the kernel and the explorer need besides the setup cell's packages.
KERNEL = {"ipykernel", "ipython", "matplotlib-inline", "traitlets"}


def pin(spec: str) -> str:
    name, version = spec.split("==")
    return version


def executed_names(frameworks: tuple[str, ...] = (DEFAULT,)) -> list[str]:
    return [path.name for _, path in colab_smoke.notebooks_to_run(frameworks)]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_opens_with_the_setup_cell(md):
    opens_with_it = has_setup_cell(jupytext.read(md))
    assert opens_with_it, f"{md.name}: its first code cell is not tools/setup_cell.py's SETUP_CELL"


@pytest.mark.parametrize("framework", ["pytorch", "jax", "tensorflow"])
def test_setup_pins_are_binders_and_the_books(framework):
    for name, spec in PACKAGES[framework].items():
        assert pin(spec) == CONSTRAINTS[spec.split("==")[0]], name
        if framework == DEFAULT:
            assert spec.startswith(f"{name}=="), spec
            assert pin(spec) == BINDER[name], name
    assert set(NO_DEPS) == {"d2l"}
    assert pin(NO_DEPS["d2l"]) == bare_runtime.pins(ROOT / "requirements-nodeps.txt")["d2l"]


def test_mxnet_setup_pins_are_its_environments():
    mxnet = bare_runtime.pins(ROOT / "constraints-mxnet.txt")
    for name, spec in PACKAGES["mxnet"].items():
        assert pin(spec) == mxnet[name], name


def test_binder_holds_the_runtime_and_nothing_else():
    assert set(BINDER) == set(PACKAGES[DEFAULT]) | KERNEL
    for name, version in BINDER.items():
        assert CONSTRAINTS[name] == version, name


def test_colab_runtime_names_python_and_pins_what_the_check_keeps():
    assert colab_smoke.python_version() == "3.13"
    assert set(colab_smoke.KEPT) <= set(COLAB)
    assert "notebook" in COLAB and "widgetsnbextension" in COLAB


@pytest.mark.parametrize("framework", colab_smoke.COLAB_FRAMEWORKS)
def test_colab_runtime_holds_what_each_setup_cell_would_install(framework):
    """On Colab the setup cells install only d2l and d2lsave: everything else is there."""
    wanted = set(PACKAGES[framework])
    assert wanted - set(COLAB) == set(), framework


def test_the_colab_like_run_takes_every_framework_notebook_of_every_page():
    ran = colab_smoke.notebooks_to_run(colab_smoke.COLAB_FRAMEWORKS + colab_smoke.STOP_ON_COLAB)
    names = [path.name for _, path in ran]
    for name in (
        "synthetic-regression-data.ipynb",
        "synthetic-regression-data.jax.ipynb",
        "synthetic-regression-data.tensorflow.ipynb",
        "synthetic-regression-data.mxnet.ipynb",
        "explorer.ipynb",
        "exercises.ipynb",
        "exercises.jax.ipynb",
        "exercises.tensorflow.ipynb",
    ):
        assert name in names
    assert all(path.exists() for _, path in ran)
    assert executed_names() == [md.with_suffix(".ipynb").name for md in NOTEBOOKS]


def notebook(*cells: tuple[str, list, list[str]]) -> nbformat.NotebookNode:
    """A notebook of code cells, each (source, outputs, tags)."""
    made = nbformat.v4.new_notebook()
    for source, outputs, tags in cells:
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags})
        cell.outputs = [nbformat.from_dict(output) for output in outputs]
        made.cells.append(cell)
    return made


def stdout(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def test_a_setup_run_keeps_the_setup_cell_and_every_import_of_the_code():
    cells = [
        ("install_missing()", [], []),
        ("import torch\nfrom d2lsave import check_integer\nx = 1", [], []),
        ("def f():\n    import scipy.stats as st\n    return st\nimport torch", [], []),
        ("from . import nothing_absolute\n%timeit f()", [], []),  # not Python: left out
        ("try:\n    import tqdm\nexcept ImportError:\n    tqdm = None\nimport numpy", [], []),
        ("try:\n    import pandas\nfinally:\n    pass", [], []),  # not optional
    ]
    cut = colab_smoke.setup_and_imports(notebook(*cells))
    assert [cell.source for cell in cut.cells] == [
        "install_missing()",
        "import torch\nfrom d2lsave import check_integer\nimport scipy.stats as st\nimport numpy"
        "\nimport pandas",
    ]


def test_output_comparison_finds_other_printed_text_and_leaves_the_rest():
    setup = ("setup", [stdout("Installing d2l\n")], [])
    stored = notebook(
        ("setup", [], []),
        ("a", [stdout("x: 1.0\n")], []),
        ("b", [stdout("y: 2\n")], []),
        ("c", [stdout("0.31 M/s\n")], ["nbval-ignore-output"]),
        ("d", [{"output_type": "execute_result", "data": {"text/plain": "32"},
                "metadata": {}, "execution_count": 1}], []),
    )  # fmt: skip
    same = notebook(
        setup,
        ("a", [stdout("x: "), stdout("1.0\n")], []),  # split streams, as a kernel may
        ("b", [stdout("y: 2\n"), {"output_type": "stream", "name": "stderr", "text": "E"}], []),
        ("c", [stdout("0.52 M/s\n")], ["nbval-ignore-output"]),
        ("d", [{"output_type": "execute_result", "data": {"text/plain": "32"},
                "metadata": {}, "execution_count": 7}], []),
        ("probe", [stdout("PROBE {}\n")], []),
    )  # fmt: skip
    assert colab_smoke.output_differences(stored, same) == []
    other = notebook(
        setup,
        ("a", [stdout("x: 1.5\n")], []),
        ("b", [{"output_type": "error", "ename": "TypeError", "evalue": "no", "traceback": []}],
         []),
        ("c", [stdout("0.52 M/s\n")], ["nbval-ignore-output"]),
        ("d", [{"output_type": "execute_result", "data": {"text/plain": "31"},
                "metadata": {}, "execution_count": 7}], []),
    )  # fmt: skip
    assert colab_smoke.output_differences(stored, other) == [1, 2, 4]


@pytest.fixture(scope="module")
def colab_result() -> colab_smoke.SmokeResult:
    try:
        return colab_smoke.run(SETUP_CELLS)
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))


@pytest.mark.colab
def test_colab_like_runtime_keeps_its_versions(colab_result):
    assert colab_result.executed == executed_names(colab_smoke.COLAB_FRAMEWORKS)
    assert colab_result.versions_before == {name: COLAB[name] for name in colab_smoke.KEPT}
    assert colab_result.versions_after == colab_result.versions_before
    assert colab_result.changed_by_setup == []
    assert colab_result.installed_by_setup == ["d2l", "d2lsave"]


@pytest.mark.colab
def test_colab_like_runtime_prints_the_stored_outputs(colab_result):
    """Colab's versions (torch 2.11, JAX 0.7.2, TensorFlow 2.20) print the same data, losses
    and messages as the book's own, wherever nbval compares them."""
    assert set(colab_result.differences) == set(colab_result.executed)
    differing = {name: cells for name, cells in colab_result.differences.items() if cells}
    assert differing == {}


@pytest.mark.colab
def test_mxnet_notebooks_stop_at_once_on_colab_saying_where_they_run(colab_result):
    stopping = executed_names(colab_smoke.STOP_ON_COLAB)
    assert stopping and sorted(colab_result.stopped) == sorted(stopping)
    for name, error in colab_result.stopped.items():
        assert error.startswith("RuntimeError: MXNet 1.9.1 needs Python <= 3.11"), name
        assert "requirements-mxnet.txt" in error and "python3.11 -m venv" in error, name


@pytest.mark.colab
def test_explorer_works_with_colabs_anywidget_and_ipywidgets(colab_result):
    probe = colab_result.explorer
    assert (probe["anywidget"], probe["ipywidgets"]) == (COLAB["anywidget"], COLAB["ipywidgets"])
    assert probe["rows"] == probe["labels"] == probe["values"]["n"] == 50
    assert probe["values"]["noise"] == 0.5


@pytest.mark.colab
def test_bare_runtime_gets_the_books_versions():
    result = bare_runtime.run("bare")
    assert result.executed == executed_names()
    assert set(result.changed_by_setup) <= INSTALLERS
    wanted = {*PACKAGES[DEFAULT], "d2l", "d2lsave"}
    assert wanted <= set(result.installed_by_setup)
    for name in set(colab_smoke.KEPT) & set(PACKAGES[DEFAULT]):
        assert result.versions_before[name] == "absent", name
        assert result.versions_after[name] == BINDER[name], name


@pytest.mark.colab
def test_binder_environment_runs_every_notebook():
    result = bare_runtime.run("binder")
    assert result.executed == executed_names()
    assert result.changed_by_setup == []
    assert result.installed_by_setup == ["d2l", "d2lsave"]
    assert result.versions_before == {name: BINDER.get(name, "absent") for name in colab_smoke.KEPT}


def test_colab_smoke_names_the_missing_python_and_skips(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no python3.13 on PATH
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))  # and no pyenv versions
    version = colab_smoke.python_version()
    with pytest.raises(colab_smoke.NoPython, match=f"no Python {version} on PATH or in"):
        colab_smoke.find_python(version)
    assert colab_smoke.main([]) == 0
    assert capsys.readouterr().out.startswith(f"colab-smoke skipped: no Python {version}")


def test_colab_smoke_finds_python_of_the_version_asked_for():
    try:
        found = colab_smoke.find_python(colab_smoke.python_version())
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))
    assert colab_smoke._reports(found, colab_smoke.python_version())


def test_environments_are_made_with_uv_from_pips_sources(tmp_path):
    command = colab_smoke.installer(tmp_path / "venv")
    assert command[:3] == [Path(sys.executable).parent / "uv", "pip", "install"]
    python = command.index("--python") + 1
    assert command[python] == tmp_path / "venv" / "bin" / "python"
    assert command[python + 1 :] == pip_sources.source_options()


def test_environments_are_made_with_pip_where_uv_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))  # no uv beside it
    command = colab_smoke.installer(tmp_path / "venv")
    assert command == [tmp_path / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet"]
