"""`d2lsave.<framework>` in each framework's own Python, and on Colab's Python 3.13 where Colab
ships the framework (MXNet 1.9.1 needs numpy < 1.24: no Python past 3.11); and what each
framework's executed chapter shows, against what d2l's original section printed."""

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from d2lsave import SyntheticRegressionData
from d2lsetup import DEFAULT, FRAMEWORKS, setup_cell
from tests.conftest import ROOT
from tools import colab_smoke
from tools.frameworks import derived_notebook

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
MODULES = {name: framework.module for name, framework in FRAMEWORKS.items()}
# d2l's JAX module reads data with TensorFlow; TensorFlow's Keras 3 imports JAX where installed
ALSO = {"jax": {"tensorflow"}, "tensorflow": {"jax"}}
PAGE_CELLS = ("data = SyntheticRegressionData(", "default = SyntheticRegressionData(")
NEWEST = "3.13"  # Colab's
# PyTorch's data and minibatches, hashed in the framework's Python and here
DIGEST = (
    "import hashlib, torch; d = S(w=[2, -3.4], b=4.2, seed=11); "
    "batches = torch.cat([X for X, _ in d.train_dataloader()]); "
    "results['digest'] = hashlib.sha256(d.y.numpy().tobytes() + batches.numpy().tobytes())"
    ".hexdigest()"
)
# JAX: the module leaves JAX's default derivation of random bits alone, and seeding TensorFlow's
# global stream leaves a seeded epoch order alone.
EXTRA = {
    "pytorch": {"after": DIGEST},
    "jax": {
        "before": "import jax, tensorflow; flag = jax.config.jax_threefry_partitionable",
        "between": "tensorflow.random.set_seed(1)",
        "after": "results['flag kept'] = flag == jax.config.jax_threefry_partitionable",
    },
}
# d2l's first example under d2l's defaults (no seed), as the original printed it; MXNet's needs
# a process whose global stream nothing has drawn from yet: the top of Going Further
ORIGINAL = {
    "jax": (CHAPTER, "[-0.86997527 -3.2320356 ]", "[13.438176]"),
    "mxnet": (ROOT / "book" / "going-further.md", "[2.2122064 1.1630787]", "[4.684836]"),
}

CHECKS = """
{setup}
import contextlib, io, json, sys
{before}
from d2lsave import {module} as d2lsave
import numpy

SyntheticRegressionData = S = d2lsave.SyntheticRegressionData
results = {{"python": "%d.%d" % sys.version_info[:2]}}
for name, value in [("noise", -0.1), ("batch_size", 0), ("num_train", 1.5), ("w", [])]:
    try:
        S(**dict(dict(w=[2, -3.4], b=4.2, seed=0), **{{name: value}}))
        results[name] = None
    except (TypeError, ValueError) as err:
        results[name] = str(err)
first, second, other = (S(w=[2, -3.4], b=4.2, seed=seed) for seed in (7, 7, 8))
labels = lambda data: numpy.asarray(data.y)
results["same data"] = bool(numpy.array_equal(labels(first), labels(second)))
results["other seed differs"] = not numpy.array_equal(labels(first), labels(other))
order = lambda data: [numpy.asarray(y).tolist() for _, y in data.train_dataloader()]
batches = [order(first)]
{between}
results["same order"] = batches[0] == order(second)
X, y = next(iter(first.train_dataloader()))
results["shapes"] = [list(numpy.asarray(X).shape), list(numpy.asarray(y).shape)]
results["batches"] = len(list(first.train_dataloader()))
results["frameworks imported"] = sorted(name for name in {modules!r} if name in sys.modules)

for source in {imports!r}:
    exec(source)
results["page"] = []
for source in {page_cells!r}:
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(source)
    results["page"].append(printed.getvalue())
{after}
print(json.dumps(results))
"""


def text_outputs(framework: str, page: Path = CHAPTER) -> list[str]:
    return [
        output["text"] if output.get("output_type") == "stream" else output["data"]["text/plain"]
        for cell in nbformat.read(derived_notebook(page, framework), as_version=4).cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" or "text/plain" in output.get("data", {})
    ]


def chapter_cells(framework: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The chapter's import cells, and (source, what it printed) of the cells printing the first
    examples. Cells that set flags are left out: the module must print the same without them."""
    notebook = nbformat.read(derived_notebook(CHAPTER, framework), as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    first = next(i for i, cell in enumerate(cells) if cell.source.startswith(PAGE_CELLS))
    imports = [
        cell.source for cell in cells[:first] if cell.source.startswith(("import ", "from "))
    ]
    printed = [
        (cell.source, "".join(o.text for o in cell.outputs if o.get("name") == "stdout"))
        for cell in cells
        if cell.source.startswith(PAGE_CELLS)
    ]
    return imports, printed


@pytest.fixture(
    scope="module",
    params=[pytest.param((framework, "own"), id=framework) for framework in FRAMEWORKS]
    + [
        pytest.param((framework, NEWEST), id=f"{framework}-python{NEWEST}", marks=pytest.mark.colab)
        for framework in colab_smoke.COLAB_FRAMEWORKS
    ],
)
def checked(request, tmp_path_factory) -> tuple[str, str, dict]:
    """Run CHECKS in the framework's own Python after the notebooks' first cell, which must
    install nothing there; or in the Colab-like one with d2l 1.0.3 as this environment
    installed it (d2lsave comes from this checkout, the working directory)."""
    framework, where = request.param
    venv, variables = ROOT / FRAMEWORKS[framework].environment, {}
    python, setup = venv / "bin" / "python", setup_cell(framework)
    if where == NEWEST:
        try:
            python, setup = colab_smoke.prepare() / "bin" / "python", ""
        except colab_smoke.NoPython as missing:
            pytest.skip(str(missing))
        tmp = tmp_path_factory.mktemp("d2l")
        (tmp / "d2l").symlink_to(Path(importlib.util.find_spec("d2l").origin).parent)
        variables = {"PYTHONPATH": str(tmp)}
    if not python.exists():
        pytest.fail(f"{python} is missing: `make env` creates it")
    before = colab_smoke.distributions(venv) if setup else None
    imports, printed = chapter_cells(framework)
    code = CHECKS.format(
        setup=setup,
        module=MODULES[framework],
        modules=sorted(MODULES.values()),
        imports=imports,
        page_cells=[source for source, _ in printed],
        **dict.fromkeys(EXTRA["jax"], "") | EXTRA.get(framework, {}),
    )
    run = {"capture_output": True, "text": True, "cwd": ROOT, "env": os.environ | variables}
    result = subprocess.run([python, "-c", code], **run)
    assert result.returncode == 0, result.stderr[-3000:]
    if setup:
        assert "Installing" not in result.stdout, result.stdout[-2000:]
        assert colab_smoke.distributions(venv) == before, f"{framework}: the first cell installed"
    results = json.loads(result.stdout.strip().splitlines()[-1])
    assert where != NEWEST or results["python"] == NEWEST, results["python"]
    return framework, where, results


@pytest.mark.processes
def test_the_module_keeps_the_packages_promises(checked):
    """Named errors, reproducible seeded data and shuffles (PyTorch's the same as here), d2l's
    shapes, no other framework imported, and the first examples the chapter prints."""
    framework, where, results = checked
    for name in ("noise", "batch_size", "num_train", "w"):
        assert results[name] is not None, f"{framework}: {name} was accepted"
        assert results[name].startswith(f"{name} must be"), results[name]
    assert results["same data"] and results["same order"], framework
    assert results["other seed differs"], framework
    assert results["shapes"] == [[32, 2], [32, 1]] and results["batches"] == 32, framework
    imported = set(results["frameworks imported"])
    assert MODULES[framework] in imported
    assert imported - {MODULES[framework]} <= ALSO.get(framework, set()), framework
    printed = chapter_cells(framework)[1]
    assert printed, f"{framework}: no cell of the chapter prints its first example"
    assert results["page"] == [stored for _, stored in printed], framework
    assert framework != "jax" or results["flag kept"], framework
    if framework == DEFAULT and where == "own":
        here = {"S": SyntheticRegressionData, "results": {}}
        exec(DIGEST, here)
        assert results["digest"] == here["results"]["digest"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_chapter_prints_the_originals_shapes_length_and_first_example(framework):
    texts = text_outputs(framework)
    shape = "torch.Size([32, {}])" if framework == DEFAULT else "(32, {})"  # PyTorch's, a tuple
    for name, width in (("X", 2), ("y", 1)):
        assert any(f"{name} shape: {shape.format(width)}" in text for text in texts), framework
    assert "32" in [text.strip() for text in texts], f"{framework}: no loader length of 32"
    if framework in ORIGINAL:
        page, features, label = ORIGINAL[framework]
        texts = text_outputs(framework, page)
        matching = [text for text in texts if features in text and "match: True" in text]
        assert matching, f"{framework}: no output shows {features} and a match"
        assert any(label in text for text in texts)
