"""The notebooks where readers run them (tools/colab_smoke.py), and the versions they install."""

from __future__ import annotations

import functools

import pytest

from d2lsetup import DEFAULT, FRAMEWORKS, INSTALLERS, NO_DEPS, PACKAGES
from tests.conftest import ROOT
from tools import colab_smoke
from tools.book import toc_notebooks
from tools.colab_smoke import COLAB, COLAB_FRAMEWORKS, LACKING, code_cells, pins, printed

BINDER = pins(colab_smoke.BINDER)
KERNEL = {"ipykernel", "ipython", "matplotlib-inline", "traitlets"}  # besides the packages
PYTORCH_NOTEBOOKS = [md.with_suffix(".ipynb").name for md in toc_notebooks()]


@functools.cache
def run_in(runtime: str) -> colab_smoke.Run:
    """The notebooks' run in a runtime, made once; skipped, saying why, without its Python."""
    try:
        return colab_smoke.run(runtime)
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_first_cell_pins_are_the_books(framework):
    shared = FRAMEWORKS[framework].environment == ".venv"
    pinned = pins(ROOT / ("constraints.txt" if shared else f"constraints-{framework}.txt"))
    for spec in PACKAGES[framework].values():
        name, version = spec.split("==")
        assert pinned[name] == version, spec
    assert NO_DEPS["d2l"] == f"d2l=={pins(ROOT / 'requirements-nodeps.txt')['d2l']}"


def test_binder_holds_the_default_frameworks_packages_and_the_kernel_at_the_books_pins():
    assert set(BINDER) == set(PACKAGES[DEFAULT]) | KERNEL
    assert {name: f"{name}=={BINDER[name]}" for name in PACKAGES[DEFAULT]} == PACKAGES[DEFAULT]
    pinned = pins(ROOT / "constraints.txt")
    assert {name: pinned[name] for name in BINDER} == BINDER


@pytest.mark.colab
def test_colab_runs_every_notebook_printing_the_stored_outputs_adding_only_d2l_and_d2lsave():
    """Colab's versions run every notebook of the frameworks it has to the end, printing what
    the book's do where nbval compares them (the explorer: in the classic Notebook's test)."""
    colab = run_in("colab")
    assert {name: colab.before.get(name) for name in COLAB} == COLAB
    assert colab.changed == [] and colab.installed == ["d2l", "d2lsave"]
    books = sorted(path.name for path in (ROOT / "book").glob("*.ipynb"))
    assert sorted([*colab.ran, colab_smoke.EXPLORER]) == books
    running = [p.name for p in colab_smoke.notebooks(COLAB_FRAMEWORKS) if p.name in colab.ran]
    assert {name: colab.errors[name] for name in running if name in colab.errors} == {}
    assert sorted(colab.differences) == sorted(running)
    assert {name: cells for name, cells in colab.differences.items() if cells} == {}
    chapter = code_cells(colab.ran[PYTORCH_NOTEBOOKS[0]])
    assert any(printed(cell, []) for cell in chapter if colab_smoke.compared(cell))


@pytest.mark.colab
def test_frameworks_colab_lacks_stop_at_once_saying_where_they_run():
    colab = run_in("colab")
    lacking = [path.name for path in colab_smoke.notebooks(LACKING)]
    assert lacking and sorted(colab.errors) == sorted(lacking)
    for name, (cell, error) in colab.errors.items():
        assert cell == 0 and error.startswith("RuntimeError: MXNet 1.9.1 needs Python <= 3.11")
        assert "requirements-mxnet.txt" in error and "python3.11 -m venv" in error, name
        assert "Installing" not in printed(code_cells(colab.ran[name])[0], []), name


@pytest.mark.colab
def test_bare_jupyter_gets_the_books_versions():
    bare = run_in("bare")
    assert list(bare.ran) == PYTORCH_NOTEBOOKS and bare.errors == {}
    assert set(bare.changed) <= INSTALLERS
    assert {*PACKAGES[DEFAULT], "d2l", "d2lsave"} <= set(bare.installed)
    assert {name: f"{name}=={bare.after[name]}" for name in PACKAGES[DEFAULT]} == PACKAGES[DEFAULT]


@pytest.mark.colab
def test_binder_runs_every_notebook_adding_only_d2l_and_d2lsave():
    binder = run_in("binder")
    assert list(binder.ran) == PYTORCH_NOTEBOOKS and binder.errors == {}
    assert {name: binder.before.get(name) for name in BINDER} == BINDER
    assert binder.changed == [] and binder.installed == ["d2l", "d2lsave"]
