"""The notebooks where readers run them: Colab's versions, a bare Jupyter, Binder's environment.

The fast tests check that the setup cell, binder/requirements.txt and constraints.txt agree.
The `colab` tests make fresh environments (kept under _build/ and put back as made before each
use) and run every notebook there with tools/setup_cell.py's cell first: they take minutes.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import jupytext
import pytest

from tests.conftest import ROOT
from tools import bare_runtime, colab_smoke, pip_sources
from tools.book_notebooks import toc_notebooks
from tools.setup_cell import INSTALLERS, SETUP_CELL, has_setup_cell

NOTEBOOKS = toc_notebooks()
BINDER = bare_runtime.pins(bare_runtime.BINDER)
CONSTRAINTS = bare_runtime.pins(bare_runtime.CONSTRAINTS)
COLAB = bare_runtime.pins(colab_smoke.RUNTIME)
# What the kernel and the explorer need besides the setup cell's packages.
KERNEL = {"ipykernel", "ipython", "matplotlib-inline", "traitlets"}


def setup_cell_table(name: str) -> dict[str, str]:
    """A dict literal of the setup cell (PACKAGES or NO_DEPS): distribution -> what to install."""
    tree = ast.parse(SETUP_CELL)
    (table,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == [name]
    ]
    return {
        key.value: value.value if isinstance(value, ast.Constant) else ast.unparse(value)
        for key, value in zip(table.keys, table.values, strict=True)
    }


def pin(spec: str) -> str:
    name, version = spec.split("==")
    return version


def executed_names() -> list[str]:
    return [md.with_suffix(".ipynb").name for md in NOTEBOOKS]


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_opens_with_the_setup_cell(md):
    opens_with_it = has_setup_cell(jupytext.read(md))
    assert opens_with_it, f"{md.name}: its first code cell is not tools/setup_cell.py's SETUP_CELL"


def test_setup_cell_pins_are_binders_and_the_books():
    packages = setup_cell_table("PACKAGES")
    for name, spec in packages.items():
        assert spec.startswith(f"{name}=="), spec
        assert pin(spec) == BINDER[name] == CONSTRAINTS[name], name
    nodeps = setup_cell_table("NO_DEPS")
    assert set(nodeps) == {"d2l", "d2lsave"}
    assert pin(nodeps["d2l"]) == bare_runtime.pins(ROOT / "requirements-nodeps.txt")["d2l"]


def test_setup_cell_lets_only_the_installers_move():
    (assignment,) = [
        node
        for node in ast.parse(SETUP_CELL).body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["INSTALLERS"]
    ]
    assert ast.literal_eval(assignment.value) == INSTALLERS


def test_binder_holds_the_runtime_and_nothing_else():
    assert set(BINDER) == set(setup_cell_table("PACKAGES")) | KERNEL
    for name, version in BINDER.items():
        assert CONSTRAINTS[name] == version, name


def test_colab_runtime_names_python_and_pins_what_the_check_keeps():
    assert colab_smoke.python_version() == "3.13"
    assert set(colab_smoke.KEPT) <= set(COLAB)
    assert "notebook" in COLAB and "widgetsnbextension" in COLAB


@pytest.fixture(scope="module")
def colab_result() -> colab_smoke.SmokeResult:
    try:
        return colab_smoke.run(SETUP_CELL)
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))


@pytest.mark.colab
def test_colab_like_runtime_keeps_its_versions(colab_result):
    assert colab_result.executed == executed_names()
    assert colab_result.versions_before == {name: COLAB[name] for name in colab_smoke.KEPT}
    assert colab_result.versions_after == colab_result.versions_before
    assert colab_result.changed_by_setup == []
    assert colab_result.installed_by_setup == ["d2l", "d2lsave"]


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
    wanted = {*setup_cell_table("PACKAGES"), "d2l", "d2lsave"}
    assert wanted <= set(result.installed_by_setup)
    for name in set(colab_smoke.KEPT) & set(setup_cell_table("PACKAGES")):
        assert result.versions_before[name] == "absent", name
        assert result.versions_after[name] == BINDER[name], name


@pytest.mark.colab
def test_binder_environment_runs_every_notebook():
    result = bare_runtime.run("binder")
    assert result.executed == executed_names()
    assert result.changed_by_setup == []
    assert result.installed_by_setup == ["d2l", "d2lsave"]
    assert result.versions_before == {name: BINDER[name] for name in colab_smoke.KEPT}


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
