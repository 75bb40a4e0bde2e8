"""`d2lsave.<framework>`: each framework's saved code, checked in that framework's environment.

The same promises as the PyTorch package: named errors for bad arguments, reproducible seeded
data and shuffles, d2l's shapes; and `from d2lsave import <framework>` imports no other
framework. Each check runs in a fresh process of the framework's own Python (MXNet's is
`.venv-mxnet`).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tools.bench_frameworks import PYTHONS
from tools.frameworks import FRAMEWORKS

pytestmark = pytest.mark.processes

CHECKS = """
import json, sys
from d2lsave import {module} as d2lsave
import numpy

results = {{}}
for name, kwargs in [("noise", dict(noise=-0.1)), ("batch_size", dict(batch_size=0)),
                     ("num_train", dict(num_train=1.5)), ("w", dict(w=[]))]:
    arguments = dict(w=[2, -3.4], b=4.2, seed=0)
    arguments.update(kwargs)
    try:
        d2lsave.SyntheticRegressionData(**arguments)
        results[name] = None
    except (TypeError, ValueError) as err:
        results[name] = str(err)

first = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=7)
second = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=7)
other = d2lsave.SyntheticRegressionData(w=[2, -3.4], b=4.2, seed=8)
results["same data"] = bool(numpy.array_equal(numpy.asarray(first.y), numpy.asarray(second.y)))
results["other seed differs"] = not numpy.array_equal(numpy.asarray(first.y),
                                                      numpy.asarray(other.y))
batches = [[numpy.asarray(y).tolist() for _, y in data.train_dataloader()]
           for data in (first, second)]
results["same order"] = batches[0] == batches[1]
X, y = next(iter(first.train_dataloader()))
results["shapes"] = [list(numpy.asarray(X).shape), list(numpy.asarray(y).shape)]
results["batches"] = len(list(first.train_dataloader()))
results["frameworks imported"] = sorted(
    name for name in ("torch", "jax", "tensorflow", "mxnet") if name in sys.modules)
print(json.dumps(results))
"""
MODULES = {"pytorch": "torch", "jax": "jax", "tensorflow": "tensorflow", "mxnet": "mxnet"}
# What importing each module may bring in besides its own framework: d2l's JAX module reads
# data with TensorFlow, and TensorFlow's Keras 3 imports JAX where JAX is installed.
ALSO = {"pytorch": set(), "jax": {"tensorflow"}, "tensorflow": {"jax"}, "mxnet": set()}


@pytest.fixture(scope="module", params=FRAMEWORKS)
def checked(request) -> tuple[str, dict]:
    framework = request.param
    python = PYTHONS[framework]
    if not python.exists():
        pytest.fail(f"{python} is missing: `make env` creates it")
    result = subprocess.run(
        [str(python), "-c", CHECKS.format(module=MODULES[framework])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return framework, json.loads(result.stdout.strip().splitlines()[-1])


def test_bad_arguments_get_errors_that_name_them(checked):
    framework, results = checked
    for name in ("noise", "batch_size", "num_train", "w"):
        assert results[name] is not None, f"{framework}: {name} was accepted"
        assert results[name].startswith(f"{name} must be"), results[name]


def test_seeded_data_and_shuffles_are_reproducible(checked):
    framework, results = checked
    assert results["same data"] and results["same order"], framework
    assert results["other seed differs"], framework


def test_d2l_shapes_and_lengths_hold(checked):
    framework, results = checked
    assert results["shapes"] == [[32, 2], [32, 1]], framework
    assert results["batches"] == 32, framework


def test_a_framework_module_imports_no_other_framework(checked):
    framework, results = checked
    imported = set(results["frameworks imported"])
    assert MODULES[framework] in imported
    assert imported - {MODULES[framework]} <= ALSO[framework], framework
