"""Time the book: every benchmark of `make bench` in one run (`python -m tools.bench`).

A benchmark is not a test: it prints figures, and the ones worth quoting are ratios measured
side by side in one run, which hold better across machines and loads than absolute rates.
The sections, in order (`--only` picks some, `--quick` shrinks every size for a smoke run):

pages       every page opened from disk in Chromium (tools.bench_pages; needs the built book)
loaders     the chapter's readers of in-memory tensors against DataLoader(TensorDataset); then
            examples that cost CPU work, read with and without worker processes
frameworks  "which reader is fastest?" in each framework of d2lsetup.FRAMEWORKS, in a process
            of the framework's own environment, against its from-scratch iterator
streams     SyntheticRegressionStream against one torch.randn call drawing as many numbers
io          write_regression_file and a shuffled epoch from disk against sequential I/O of the
            same bytes; writes end with fsync and every read starts with the file out of the
            page cache (posix_fadvise), which util-linux's fincore confirms where installed
explorer    the explorer's redraw after a key press, in Chromium (tools.bench_explorer)
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import numpy as np
import psutil
import torch

from d2lsave import (
    SyntheticRegressionData,
    SyntheticRegressionStream,
    drop_cached,
    fastest_epoch,
    loader_throughput,
    read_shuffled_blocks,
    time_reads,
    write_regression_file,
)
from d2lsetup import FRAMEWORKS
from tools.book import ROOT

SCRATCH = "from-scratch iterator"
TARGET = 0.5  # streams: of torch.randn's rate from batch 1024; io: of sequential writes, reads


@dataclasses.dataclass(frozen=True)
class Sizes:
    """How much each section reads and writes, and how often it repeats a measurement."""

    loader_examples: int = 1_000_000
    framework_examples: int = 200_000
    stream_examples: int = 2**22
    file_examples: int = 10**8  # 1.2 GB
    costly_examples: int = 2000
    random_rows: int = 3000
    repeats: int = 3
    batch_sizes: tuple[int, ...] = (32, 128, 1024)
    stream_batch_sizes: tuple[int, ...] = (256, 1024, 4096)
    pages: tuple[str, ...] = ()  # arguments of tools.bench_pages and tools.bench_explorer
    explorer: tuple[str, ...] = ()


QUICK = Sizes(
    20_000,
    10_000,
    2**16,
    10**6,
    100,
    200,
    1,
    (32, 1024),
    (256, 4096),
    ("--runs", "1"),
    ("--presses", "20", "--sizes", "1000"),
)


def table(header: list[str], rows: list[list]) -> None:
    """A Markdown table, as the README quotes them."""
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print()


def describe_machine(folder: Path) -> str:
    """The processor, memory, and the disk and file system under `folder`."""
    mounts = [p for p in psutil.disk_partitions(all=True) if folder.is_relative_to(p.mountpoint)]
    disk = max(mounts, key=lambda p: len(p.mountpoint))
    flag = Path("/sys/block", Path(disk.device).name, "queue", "rotational")
    rotational = flag.read_text().strip() if flag.exists() else "unknown"
    return (
        f"{platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), "
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB; "
        f"Python {platform.python_version()}, torch {torch.__version__} on "
        f"{torch.get_num_threads()} threads; {folder} on {disk.device} (rotational={rotational}), "
        f"{disk.fstype}\n"
    )


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


def loaders(sizes: Sizes, folder: Path) -> None:
    """The chapter's readers in one process, on the same tensors; then workers' worth."""
    n, baseline = sizes.loader_examples, "DataLoader(TensorDataset)"
    data = SyntheticRegressionData(w=[2, -3.4], b=4.2, num_train=n, num_val=0, seed=0)
    print(f"## Readers: {n:,} in-memory examples, best of {sizes.repeats} epochs; M examples/s,")
    print(f"and in brackets the multiple of {baseline}'s\n")
    rates = [loader_throughput(data.X, data.y, size, sizes.repeats) for size in sizes.batch_sizes]
    table(
        ["reader"] + [f"batch {size}" for size in sizes.batch_sizes],
        [
            [reader, *(f"{r[reader] / 1e6:.2f} ({r[reader] / r[baseline]:.1f}x)" for r in rates)]
            for reader in rates[0]
        ],
    )
    threads, costly, rates = torch.get_num_threads(), CostlyExamples(sizes.costly_examples), {}
    torch.set_num_threads(1)  # one core per process, so that workers are what adds cores
    try:
        for workers in (0, 2):
            reader = torch.utils.data.DataLoader(costly, 32, num_workers=workers)
            rates[workers] = len(costly) / fastest_epoch(lambda r=reader: r, 2)
    finally:
        torch.set_num_threads(threads)
    print("Examples costing ~0.5 ms of CPU each, batch 32, one thread per process\n")
    table(
        ["num_workers", "examples/s", "vs 0 workers"],
        [[count, f"{rate:,.0f}", f"{rate / rates[0]:.2f}x"] for count, rate in rates.items()],
    )


# Run in a framework's own environment: prints {batch size: {reader: examples per second}}.
MEASURE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
examples, repeats = int(sys.argv[2]), int(sys.argv[3])
data = module.SyntheticRegressionData(w=[2, -3.4], b=4.2, num_train=examples, num_val=0, seed=0)
print(json.dumps({size: module.loader_throughput(data.X, data.y, int(size), repeats)
                  for size in sys.argv[4:]}))
"""


def frameworks(sizes: Sizes, folder: Path) -> None:
    """Each framework's `loader_throughput`, from a fresh process of its environment."""
    n, batch_sizes = sizes.framework_examples, sizes.batch_sizes
    print(
        f"## Readers in each framework: {n:,} in-memory examples, best of {sizes.repeats} "
        f"epochs; ratios to the same framework's {SCRATCH}, in the same process\n"
    )
    rows = []
    for framework in FRAMEWORKS.values():
        # A framework's own package, listed first among its packages, names its d2lsave module.
        module = f"d2lsave.{framework.module}"
        python = ROOT / framework.environment / "bin" / "python"
        result = subprocess.run(
            [str(python), "-c", MEASURE, module, str(n), str(sizes.repeats)]
            + [str(size) for size in batch_sizes],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{framework.title}: {result.stderr.strip()[-2000:]}")
        rates = json.loads(result.stdout.strip().splitlines()[-1])
        for reader in next(iter(rates.values())):
            cells = [(r[reader], r[reader] / r[SCRATCH]) for r in rates.values()]
            rows.append(
                [framework.title, reader, *(f"{a / 1e6:.2f} M/s ({b:.2g}x)" for a, b in cells)]
            )
    table(["framework", "reader"] + [f"batch {size}" for size in batch_sizes], rows)


def streams(sizes: Sizes, folder: Path) -> None:
    """What drawing every minibatch from its own seed costs, at several batch sizes."""
    n, repeats = sizes.stream_examples, sizes.repeats

    def randn_rate() -> float:
        """Examples per second of one torch.randn call drawing 2 features and the noise."""
        return n / min(timeit.repeat(lambda: torch.randn(n, 3), number=1, repeat=repeats))

    print(f"## SyntheticRegressionStream against torch.randn: {n:,} examples, best of {repeats}\n")
    # One torch.randn call does not depend on the batch size: its best rate over the whole run
    # (before, between and after the passes) is the baseline, so that a moment of load on a
    # shared machine does not flatter the stream.
    randn, rates = randn_rate(), {}
    for batch_size in sizes.stream_batch_sizes:
        data = SyntheticRegressionStream(
            [2, -3.4], 4.2, batch_size=batch_size, num_batches=n // batch_size
        )
        rates[batch_size] = batch_size * len(data) / fastest_epoch(lambda d=data: d, repeats)
        randn = max(randn, randn_rate())
    table(
        ["batch size", "stream, M examples/s", "torch.randn, M examples/s", "ratio", "target"],
        [
            [
                size,
                f"{rate / 1e6:.2f}",
                f"{randn / 1e6:.2f}",
                f"{rate / randn:.0%}",
                f">= {TARGET:.0%}" if size >= 1024 else "-",
            ]
            for size, rate in rates.items()
        ],
    )


def cached(path: Path) -> str:
    """How much of `path` is in the page cache, according to util-linux's fincore."""
    if shutil.which("fincore") is None:
        return "fincore not installed"
    result = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{int(result.stdout.strip() or 0):,} bytes cached"


def sequential_write(path: Path, size: int, piece: int = 2**23) -> float:
    """Seconds to write `size` random bytes in `piece`-sized writes, fsync included."""
    data = np.random.default_rng(0).bytes(piece)
    start = time.perf_counter()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for offset in range(0, size, piece):
            os.write(descriptor, data[: min(piece, size - offset)])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return time.perf_counter() - start


def shuffled_epoch_rate(path: Path, block_size: int, blocks_in_buffer: int) -> float:
    """Rows per second of one shuffled epoch read from the disk (the page cache dropped)."""
    drop_cached(path)
    start = time.perf_counter()
    rows = np.load(path, mmap_mode="r")
    seen = sum(len(y) for _, y in read_shuffled_blocks(rows, 1024, block_size, blocks_in_buffer, 0))
    return seen / (time.perf_counter() - start)


def files(sizes: Sizes, folder: Path, block_size: int = 2**16, buffers: tuple = (2, 16)) -> None:
    """The file on disk, written and read in blocks of 768 kB, buffers of 2 and 16 blocks."""
    n, path = sizes.file_examples, folder / "rows.npy"
    print(f"## The dataset file: {n:,} examples, {n * 12 / 1e9:.2f} GB\n")
    write_seconds = sequential_write(folder / "sequential.bin", n * 12)
    (folder / "sequential.bin").unlink()
    start = time.perf_counter()
    write_regression_file(path, w=[2, -3.4], b=4.2, noise=0.01, num_examples=n, progress=False)
    ours_seconds = time.perf_counter() - start
    drop_cached(path)
    print(f"after fsync + POSIX_FADV_DONTNEED: {cached(path)}")
    rates = time_reads(path, block_size, buffers[0], random_rows=sizes.random_rows)
    larger = {count: shuffled_epoch_rate(path, block_size, count) for count in buffers[1:]}
    drop_cached(path)
    print(f"after the reads and another drop: {cached(path)}\n")
    read = rates["sequential read"]
    rows = [
        ("sequential write (8 MiB writes, fsync)", n / write_seconds, 1, "-"),
        ("write_regression_file", n / ours_seconds, write_seconds / ours_seconds, f">= {TARGET}"),
        ("sequential read (8 MiB reads)", read, 1, "-"),
        (
            f"shuffled epoch, buffer {buffers[0]} blocks",
            rates["shuffled epoch"],
            rates["shuffled epoch"] / read,
            f">= {TARGET}",
        ),
        (
            f"shuffled epoch, buffer {buffers[0]} blocks, file in the page cache",
            rates["shuffled epoch, file cached"],
            rates["shuffled epoch, file cached"] / read,
            "-",
        ),
        *[
            (f"shuffled epoch, buffer {count} blocks", rate, rate / read, "-")
            for count, rate in larger.items()
        ],
        (
            f"random rows ({sizes.random_rows:,} timed)",
            rates["random rows"],
            rates["random rows"] / read,
            "-",
        ),
    ]
    table(
        ["what", "M rows/s", "MB/s", "ratio", "target"],
        [
            [what, f"{rate / 1e6:.4f}", f"{rate * 12 / 1e6:.1f}", f"{ratio:.3g}", target]
            for what, rate, ratio, target in rows
        ],
    )
    print(
        "Write ratios are to the sequential write, read ratios to the sequential read; an epoch "
        f"of random rows would take {n / rates['random rows'] / 3600:.1f} h, the shuffled "
        f"epoch took {n / rates['shuffled epoch']:.1f} s\n"
    )


def browser(module: str, field: str):
    """A section measured in Chromium by another module of tools/, with its own arguments."""
    return lambda sizes, folder: importlib.import_module(module).main(list(getattr(sizes, field)))


SECTIONS = {
    "pages": browser("tools.bench_pages", "pages"),
    "loaders": loaders,
    "frameworks": frameworks,
    "streams": streams,
    "io": files,
    "explorer": browser("tools.bench_explorer", "explorer"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--folder", type=Path, default=ROOT / "_build", help="on the disk to test")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    args.folder.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-", dir=args.folder))
    try:
        print(describe_machine(folder))
        for name in args.only:
            SECTIONS[name](sizes, folder)
    finally:
        shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
