"""Time the chapter's minibatch readers on a million in-memory examples (run by `make bench`).

All readers run in one process on the same tensors, and the figures worth quoting are the
ratios to `DataLoader(TensorDataset)`, which hold better across machines than the raw rates.
"""

from __future__ import annotations

import argparse
import platform

import torch

from d2lsave import SyntheticRegressionData, loader_throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    data = SyntheticRegressionData(w=[2, -3.4], b=4.2, num_train=args.examples, num_val=0, seed=0)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; {args.examples:,} examples, "
        f"best of {args.repeats} epochs"
    )
    for batch_size in args.batch_sizes:
        rates = loader_throughput(data.X, data.y, batch_size, repeats=args.repeats)
        baseline = rates["DataLoader(TensorDataset)"]
        print(
            f"\nbatch size {batch_size}\n| reader | M examples/s | vs DataLoader |\n|---|---|---|"
        )
        for name, rate in rates.items():
            print(f"| {name} | {rate / 1e6:.2f} | {rate / baseline:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
