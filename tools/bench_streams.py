"""Time SyntheticRegressionStream against one torch.randn call (run by `make bench`).

The stream draws every minibatch from its own seed, so that any minibatch can be recomputed
alone. What that costs is measured here: a full pass over the stream against a single
`torch.randn` call that draws as many numbers (the features and the noise of every example) at
once, at several batch sizes, in one run. Ratios within one run are what to quote; absolute rates
move with the load on the machine.
"""

from __future__ import annotations

import argparse
import platform
import timeit

import torch

from d2lsave import SyntheticRegressionStream, fastest_epoch

TARGET = 0.5  # of torch.randn's examples per second, at batch sizes of 1024 and more


def stream_rate(batch_size: int, examples: int, repeats: int) -> float:
    """Examples per second of the fastest of `repeats` passes over the stream."""
    stream = SyntheticRegressionStream(
        w=[2, -3.4], b=4.2, batch_size=batch_size, num_batches=examples // batch_size
    )
    return batch_size * (examples // batch_size) / fastest_epoch(lambda: stream, repeats)


def randn_rate(examples: int, features: int, repeats: int) -> float:
    """Examples per second of one torch.randn call drawing `features` + 1 numbers per example."""
    best = min(timeit.repeat(lambda: torch.randn(examples, features + 1), number=1, repeat=repeats))
    return examples / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2**22)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}; {args.examples:,} examples of 2 "
        f"features, best of {args.repeats}"
    )
    print("| batch size | stream, M examples/s | torch.randn, M examples/s | ratio | target |")
    print("|---|---|---|---|---|")
    missed = []
    # One torch.randn call does not depend on the batch size: its best rate over the whole run
    # (timed before, between and after the passes) is the baseline, so that a moment of load on
    # a shared machine does not flatter the stream.
    randn = randn_rate(args.examples, 2, args.repeats)
    streams = {}
    for batch_size in args.batch_sizes:
        streams[batch_size] = stream_rate(batch_size, args.examples, args.repeats)
        randn = max(randn, randn_rate(args.examples, 2, args.repeats))
    for batch_size, stream in streams.items():
        ratio = stream / randn
        target = f">= {TARGET:.0%}" if batch_size >= 1024 else "-"
        if batch_size >= 1024 and ratio < TARGET:
            missed.append(batch_size)
        print(f"| {batch_size} | {stream / 1e6:.2f} | {randn / 1e6:.2f} | {ratio:.0%} | {target} |")
    if missed:
        print(f"below the target at batch sizes {missed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
