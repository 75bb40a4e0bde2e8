"""Time the chapter's minibatch readers (run by `make bench`).

First, a million in-memory examples through the four readers of the chapter: all run in one
process on the same tensors, and the figures worth quoting are the ratios to
`DataLoader(TensorDataset)`, which hold better across machines than the raw rates. Second, the
case the chapter says favours `DataLoader`: examples that cost CPU work to produce, read with
and without worker processes.
"""

from __future__ import annotations

import argparse
import platform

import torch

from d2lsave import SyntheticRegressionData, fastest_epoch, loader_throughput


class CostlyExamples(torch.utils.data.Dataset):
    """Examples that each take about half a millisecond of CPU work, like decoding an image."""

    def __init__(self, size: int):
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = torch.randn(128, 128, generator=torch.Generator().manual_seed(index))
        for _ in range(10):
            pixels = torch.fft.fft2(pixels).real / 128
        return pixels.mean(0)[:2], pixels.sum().reshape(1)


def costly_rates(workers: list[int], size: int = 2000, repeats: int = 2) -> dict[int, float]:
    """Examples per second from CostlyExamples with each number of worker processes."""
    dataset = CostlyExamples(size)
    rates = {}
    for count in workers:
        loader = torch.utils.data.DataLoader(dataset, 32, num_workers=count)
        rates[count] = size / fastest_epoch(lambda loader=loader: loader, repeats)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024])
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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core per process, so that workers are what adds cores
    try:
        rates = costly_rates([0, 2])
    finally:
        torch.set_num_threads(threads)
    print("\nexamples costing ~0.5 ms of CPU each, batch size 32, one thread per process")
    print("| num_workers | examples/s | vs 0 workers |\n|---|---|---|")
    for count, rate in rates.items():
        print(f"| {count} | {rate:,.0f} | {rate / rates[0]:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
