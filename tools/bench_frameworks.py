"""Time "which reader is fastest?" in all four frameworks, side by side (run by `make bench`).

Each framework's `loader_throughput` (saved from the chapter into `d2lsave.<framework>`) runs in
a fresh process of that framework's environment: PyTorch, JAX and TensorFlow in `.venv`, MXNet
in `.venv-mxnet`. The figures worth comparing are the ratios within one framework: each reader
against that framework's from-scratch iterator, measured in the same process on the same data.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from tools.frameworks import FRAMEWORKS, TITLES

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = {
    "pytorch": ROOT / ".venv" / "bin" / "python",
    "jax": ROOT / ".venv" / "bin" / "python",
    "tensorflow": ROOT / ".venv" / "bin" / "python",
    "mxnet": ROOT / ".venv-mxnet" / "bin" / "python",
}
MODULES = {"pytorch": "d2lsave.torch", "jax": "d2lsave.jax", "tensorflow": "d2lsave.tensorflow"}
MODULES["mxnet"] = "d2lsave.mxnet"
SCRATCH = "from-scratch iterator"

# Run in the framework's own process: prints {batch size: {reader: examples per second}}.
MEASURE = """
import importlib, json, sys
import numpy
module = importlib.import_module(sys.argv[1])
examples, repeats = int(sys.argv[2]), int(sys.argv[3])
data = module.SyntheticRegressionData(w=[2, -3.4], b=4.2, num_train=examples, num_val=0, seed=0)
rates = {size: module.loader_throughput(data.X, data.y, batch_size=size, repeats=repeats)
         for size in map(int, sys.argv[4:])}
print(json.dumps(rates))
"""


def measure(framework: str, examples: int, repeats: int, batch_sizes: list[int]) -> dict:
    """The framework's reader rates, from a process of its environment."""
    result = subprocess.run(
        [str(PYTHONS[framework]), "-c", MEASURE, MODULES[framework], str(examples), str(repeats)]
        + [str(size) for size in batch_sizes],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{TITLES[framework]}: {result.stderr.strip()[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    args = parser.parse_args(argv)
    print(
        f"{args.examples:,} in-memory examples, best of {args.repeats} epochs; ratios are to "
        "the same framework's from-scratch iterator, in the same process\n"
    )
    print("| framework | reader | " + " | ".join(f"batch {s}" for s in args.batch_sizes) + " |")
    print("|---|---|" + "---|" * len(args.batch_sizes))
    for framework in args.frameworks:
        rates = measure(framework, args.examples, args.repeats, args.batch_sizes)
        readers = list(next(iter(rates.values())))
        for reader in readers:
            cells = []
            for size in map(str, args.batch_sizes):
                rate, scratch = rates[size][reader], rates[size][SCRATCH]
                cells.append(f"{rate / 1e6:.2f} M/s ({rate / scratch:.2g}x)")
            print(f"| {TITLES[framework]} | {reader} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
