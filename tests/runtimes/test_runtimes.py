"""The notebooks where readers run them: Colab's versions, a bare Jupyter, Binder's environment.

The fast tests check that the first cells' pins, binder/requirements.txt and the book's
constraints agree; the `colab` ones run the notebooks in each runtime (tools/colab_smoke.py).
"""

from __future__ import annotations

import pytest

from d2lsetup import DEFAULT, FRAMEWORKS, INSTALLERS, NO_DEPS, PACKAGES
from tests.conftest import ROOT
from tools import colab_smoke
from tools.book import toc_notebooks
from tools.colab_smoke import COLAB, COLAB_FRAMEWORKS, LACKING, code_cells, pins, printed

BINDER = pins(colab_smoke.BINDER)
CONSTRAINTS = {  # of each of the book's own environments
    fw.environment: pins(
        ROOT / ("constraints.txt" if fw.environment == ".venv" else f"constraints-{name}.txt")
    )
    for name, fw in FRAMEWORKS.items()
}
KERNEL = {"ipykernel", "ipython", "matplotlib-inline", "traitlets"}  # besides the packages
PYTORCH_NOTEBOOKS = [md.with_suffix(".ipynb").name for md in toc_notebooks()]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_first_cell_pins_are_the_books(framework):
    constraints = CONSTRAINTS[FRAMEWORKS[framework].environment]
    for spec in PACKAGES[framework].values():
        name, version = spec.split("==")
        assert constraints[name] == version, spec
    assert NO_DEPS["d2l"] == f"d2l=={pins(ROOT / 'requirements-nodeps.txt')['d2l']}"


def test_binder_holds_the_default_frameworks_packages_and_the_kernel_at_the_books_pins():
    assert set(BINDER) == set(PACKAGES[DEFAULT]) | KERNEL
    assert {f"{n}=={v}" for n, v in BINDER.items() if n in PACKAGES[DEFAULT]} == set(
        PACKAGES[DEFAULT].values()
    )
    assert all(CONSTRAINTS[".venv"][name] == version for name, version in BINDER.items())


@pytest.mark.colab
def test_colab_keeps_its_versions_and_adds_only_d2l_and_d2lsave(run_in):
    colab = run_in("colab")
    assert {name: colab.before.get(name) for name in COLAB} == COLAB
    assert colab.changed == [] and colab.installed == ["d2l", "d2lsave"]


@pytest.mark.colab
def test_colab_runs_every_notebook_and_prints_the_stored_outputs(run_in):
    """Colab's versions (torch 2.11, JAX 0.7.2, TensorFlow 2.20) run every notebook of the
    frameworks Colab has to its end, printing the same data, losses and messages as the book's
    own wherever nbval compares them; the explorer's runs in the classic Notebook's test."""
    colab = run_in("colab")
    books = sorted(path.name for path in (ROOT / "book").glob("*.ipynb"))
    assert sorted([*colab.ran, colab_smoke.EXPLORER]) == books
    running = [p.name for p in colab_smoke.notebooks(COLAB_FRAMEWORKS) if p.name in colab.ran]
    assert {name: colab.errors[name] for name in running if name in colab.errors} == {}
    assert sorted(colab.differences) == sorted(running)
    assert {name: cells for name, cells in colab.differences.items() if cells} == {}
    chapter = code_cells(colab.ran[PYTORCH_NOTEBOOKS[0]])
    assert any(printed(cell, []) for cell in chapter if colab_smoke.compared(cell))


@pytest.mark.colab
def test_frameworks_colab_lacks_stop_at_once_saying_where_they_run(run_in):
    colab = run_in("colab")
    lacking = [path.name for path in colab_smoke.notebooks(LACKING)]
    assert lacking and sorted(colab.errors) == sorted(lacking)
    for name, (cell, error) in colab.errors.items():
        assert cell == 0 and error.startswith("RuntimeError: MXNet 1.9.1 needs Python <= 3.11")
        assert "requirements-mxnet.txt" in error and "python3.11 -m venv" in error, name
        assert "Installing" not in printed(code_cells(colab.ran[name])[0], []), name


@pytest.mark.colab
def test_bare_jupyter_gets_the_books_versions(run_in):
    bare = run_in("bare")
    assert list(bare.ran) == PYTORCH_NOTEBOOKS and bare.errors == {}
    assert set(bare.changed) <= INSTALLERS
    assert {*PACKAGES[DEFAULT], "d2l", "d2lsave"} <= set(bare.installed)
    assert {name: bare.after[name] for name in PACKAGES[DEFAULT]} == {
        name: BINDER[name] for name in PACKAGES[DEFAULT]
    }


@pytest.mark.colab
def test_binder_runs_every_notebook_adding_only_d2l_and_d2lsave(run_in):
    binder = run_in("binder")
    assert list(binder.ran) == PYTORCH_NOTEBOOKS and binder.errors == {}
    assert {name: binder.before.get(name) for name in BINDER} == BINDER
    assert binder.changed == [] and binder.installed == ["d2l", "d2lsave"]
