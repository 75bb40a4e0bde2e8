"""`d2lsave.<framework>`: each framework's saved code, checked in that framework's environment.

The same promises as the PyTorch package: named errors for bad arguments, reproducible seeded
data and shuffles, d2l's shapes, the first examples the chapter prints; and `from d2lsave import
<framework>` imports no other framework. Each check runs in a fresh process of the framework's
own Python (its `environment` in d2lsetup.FRAMEWORKS), and again on the newest Python the
framework runs on: the frameworks Colab ships in the Colab-like environment (Python 3.13,
Colab's versions, with d2l 1.0.3 as this environment installed it, unchanged). MXNet 1.9.1 has
no newer Python than 3.11: it needs numpy < 1.24, which has no wheels for Python 3.12 or later.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from d2lsetup import FRAMEWORKS
from tests.conftest import ROOT
from tools import colab_smoke
from tools.frameworks import derived_notebook

pytestmark = pytest.mark.processes
CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
# A framework's own package, listed first among its packages, names its d2lsave module too.
MODULES = {name: framework.module for name, framework in FRAMEWORKS.items()}
# What importing a module may bring in besides its own framework: d2l's JAX module reads data
# with TensorFlow, and TensorFlow's Keras 3 imports JAX where JAX is installed.
ALSO = {"jax": {"tensorflow"}, "tensorflow": {"jax"}}
PAGE_CELLS = ("data = SyntheticRegressionData(", "default = SyntheticRegressionData(")
NEWEST = "3.13"  # Colab's

CHECKS = """
import contextlib, io, json, sys
from d2lsave import {module} as d2lsave
import numpy

results = {{"python": "%d.%d" % sys.version_info[:2]}}
for name, kwargs in [("noise", dict(noise=-0.1)), ("batch_size", dict(batch_size=0)),
                     ("num_train", dict(num_train=1.5)), ("w", dict(w=[]))]:
    try:
        d2lsave.SyntheticRegressionData(**dict(dict(w=[2, -3.4], b=4.2, seed=0), **kwargs))
        results[name] = None
    except (TypeError, ValueError) as err:
        results[name] = str(err)

first, second, other = (d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=seed)
                        for seed in (7, 7, 8))
results["same data"] = bool(numpy.array_equal(numpy.asarray(first.y), numpy.asarray(second.y)))
results["other seed differs"] = not numpy.array_equal(numpy.asarray(first.y),
                                                      numpy.asarray(other.y))
batches = [[numpy.asarray(y).tolist() for _, y in data.train_dataloader()]
           for data in (first, second)]
results["same order"] = batches[0] == batches[1]
X, y = next(iter(first.train_dataloader()))
results["shapes"] = [list(numpy.asarray(X).shape), list(numpy.asarray(y).shape)]
results["batches"] = len(list(first.train_dataloader()))
results["frameworks imported"] = sorted(name for name in {modules!r} if name in sys.modules)

for source in {imports!r}:
    exec(source)
SyntheticRegressionData = d2lsave.SyntheticRegressionData
results["page"] = []
for source in {page_cells!r}:
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(source)
    results["page"].append(printed.getvalue())
print(json.dumps(results))
"""


def python_of(framework: str) -> Path:
    return ROOT / FRAMEWORKS[framework].environment / "bin" / "python"


def chapter_cells(framework: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The chapter's import cells, as its readers run them, and (source, what it printed) of
    its cells that print the first examples. Cells that set flags are left out: JAX's page
    sets the older Threefry derivation, and the module must print the same without it."""
    notebook = nbformat.read(derived_notebook(CHAPTER, framework), as_version=4)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    first = next(i for i, source in enumerate(code) if source.startswith(PAGE_CELLS))
    imports = [source for source in code[:first] if source.startswith(("import ", "from "))]
    printed = [
        (cell.source, "".join(o.text for o in cell.outputs if o.get("name") == "stdout"))
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.startswith(PAGE_CELLS)
    ]
    return imports, printed


def colab_like_python(tmp: Path) -> tuple[Path, dict[str, str]]:
    """The Colab-like environment's Python, and variables that let it import d2l 1.0.3 as
    this environment installed it (the environment itself holds neither d2l nor d2lsave,
    and is left so; d2lsave comes from this checkout, the working directory)."""
    try:
        venv = colab_smoke.prepare()
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))
    (tmp / "d2l").symlink_to(Path(importlib.util.find_spec("d2l").origin).parent)
    return venv / "bin" / "python", {"PYTHONPATH": str(tmp)}


def run_json(python: Path, code: str, variables: dict[str, str] | None = None) -> dict:
    """The JSON that `code` prints last, run by `python` in the repository."""
    result = subprocess.run(
        [str(python), "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=os.environ | (variables or {}),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


RUNS = [pytest.param((framework, "own"), id=framework) for framework in FRAMEWORKS] + [
    pytest.param((framework, NEWEST), id=f"{framework}-python{NEWEST}", marks=pytest.mark.colab)
    for framework in colab_smoke.COLAB_FRAMEWORKS
]


@pytest.fixture(scope="module", params=RUNS)
def checked(request, tmp_path_factory) -> tuple[str, dict]:
    framework, where = request.param
    python, variables = python_of(framework), {}
    if where == NEWEST:
        python, variables = colab_like_python(tmp_path_factory.mktemp("d2l"))
    if not python.exists():
        pytest.fail(f"{python} is missing: `make env` creates it")
    imports, printed = chapter_cells(framework)
    code = CHECKS.format(
        module=MODULES[framework],
        modules=sorted(MODULES.values()),
        imports=imports,
        page_cells=[source for source, _ in printed],
    )
    results = run_json(python, code, variables)
    if where == NEWEST:
        assert results["python"] == NEWEST, results["python"]
    return framework, results


def test_bad_arguments_get_errors_that_name_them(checked):
    framework, results = checked
    for name in ("noise", "batch_size", "num_train", "w"):
        assert results[name] is not None, f"{framework}: {name} was accepted"
        assert results[name].startswith(f"{name} must be"), results[name]


def test_seeded_data_and_shuffles_are_reproducible_with_d2l_shapes(checked):
    framework, results = checked
    assert results["same data"] and results["same order"], framework
    assert results["other seed differs"], framework
    assert results["shapes"] == [[32, 2], [32, 1]], framework
    assert results["batches"] == 32, framework


def test_a_framework_module_imports_no_other_framework(checked):
    framework, results = checked
    imported = set(results["frameworks imported"])
    assert MODULES[framework] in imported
    assert imported - {MODULES[framework]} <= ALSO.get(framework, set()), framework


def test_seeded_data_is_what_the_chapter_prints(checked):
    framework, results = checked
    printed = chapter_cells(framework)[1]
    assert printed, f"{framework}: no cell of the chapter prints its first example"
    assert results["page"] == [stored for _, stored in printed], framework


JAX_WITHOUT_THE_PAGE = """
import json
import jax
import numpy
import tensorflow as tf
from d2lsave import jax as d2lsave

flag = jax.config.jax_threefry_partitionable
data = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=0)
first = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=7)
second = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=7)
plain = [numpy.asarray(y).tolist() for _, y in first.train_dataloader()]
tf.random.set_seed(1)  # other code seeds TensorFlow's global stream
after = [numpy.asarray(y).tolist() for _, y in second.train_dataloader()]
print(json.dumps({"first example": numpy.asarray(data.X[0]).tolist(),
                  "flag before": flag, "flag after": jax.config.jax_threefry_partitionable,
                  "same order": plain == after}))
"""


def test_jax_module_draws_what_the_page_prints_without_the_pages_flag():
    """In a fresh process that sets no JAX flag: the page prints [-0.870, -3.232] for seed 0
    (d2l's book too), whatever JAX's default derivation of random bits, and importing or using
    the module leaves that default alone; the same seed gives the same epoch order, whatever
    other code seeds TensorFlow."""
    results = run_json(python_of("jax"), JAX_WITHOUT_THE_PAGE)
    assert results["first example"] == pytest.approx([-0.86997527, -3.2320356], rel=1e-6)
    assert results["flag before"] == results["flag after"]
    assert results["same order"]
