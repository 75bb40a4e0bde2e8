"""Time the dataset file on disk: writing it, and reading it shuffled (run by `make bench`).

About 10**8 examples (1.2 GB) are written with write_regression_file and compared with a plain
sequential write of as many bytes on the same disk. Then one shuffled epoch (block shuffle,
read_shuffled_blocks) is compared with a sequential read of the same file and with reading
single rows at random offsets (timed on a sample, extrapolated per row). Every figure includes
reaching the disk: writes end with fsync, and the file leaves the page cache
(posix_fadvise(POSIX_FADV_DONTNEED) after fsync) before every read; `fincore` confirms it where
installed. The files are deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from d2lsave import drop_cached, read_shuffled_blocks, time_reads, write_regression_file

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5  # write vs sequential write, shuffled epoch vs sequential read


def _first(path: str, prefix: str) -> str:
    """The value of the first line of a /proc file that starts with `prefix`."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(prefix):
            return line.split(":", 1)[1].strip()
    return "unknown"


def describe_machine(folder: Path) -> str:
    """CPU, the disk and file system under `folder`, from /proc and /sys."""
    found = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-T", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    source, fstype = (found + ["unknown", "unknown"])[:2]
    device = Path(source).name
    block = Path("/sys/block") / device
    details = []
    for name in ("device/model", "device/vendor", "queue/rotational"):
        file = block / name
        if file.exists():
            details.append(f"{name.split('/')[-1]}={file.read_text().strip()}")
    if block.exists():
        size = int((block / "size").read_text()) * 512
        details.append(f"{size / 2**30:.0f} GiB")
    virtual = " (virtio block device)" if device.startswith("vd") else ""
    return (
        f"CPU: {_first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores; "
        f"memory {_first('/proc/meminfo', 'MemTotal')}\n"
        f"disk: {source}{virtual}, {', '.join(details) or 'no details in /sys'}; "
        f"file system {fstype}; Python {platform.python_version()}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10**8)
    parser.add_argument("--block-size", type=int, default=2**16, help="rows per block (768 kB)")
    parser.add_argument(
        "--blocks-in-buffer",
        type=int,
        nargs="+",
        default=[2, 16],
        help="buffer sizes to time, in blocks; the first is compared with the target",
    )
    parser.add_argument("--random-rows", type=int, default=3000)
    parser.add_argument("--folder", type=Path, default=ROOT / "_build", help="on the disk to test")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-io-", dir=args.folder))
    try:
        return run(folder, args)
    finally:
        shutil.rmtree(folder)


def run(folder: Path, args: argparse.Namespace) -> int:
    print(describe_machine(folder))
    path = folder / "rows.npy"
    size = args.examples * 3 * 4
    print(f"{args.examples:,} examples, {size / 1e9:.2f} GB, in {folder}\n")

    baseline = folder / "sequential.bin"
    write_seconds = sequential_write(baseline, size)
    baseline.unlink()
    start = time.perf_counter()
    write_regression_file(
        path, w=[2, -3.4], b=4.2, noise=0.01, num_examples=args.examples, progress=False
    )
    ours_seconds = time.perf_counter() - start
    drop_cached(path)
    print(f"after fsync + POSIX_FADV_DONTNEED: {cached(path)}")
    first, *others = args.blocks_in_buffer
    rates = time_reads(path, args.block_size, first, random_rows=args.random_rows)
    larger = {count: shuffled_epoch_rate(path, args.block_size, count) for count in others}
    drop_cached(path)
    print(f"after the reads and another drop: {cached(path)}\n")

    write_ratio = write_seconds / ours_seconds
    shuffled_ratio = rates["shuffled epoch"] / rates["sequential read"]
    random_epoch = args.examples / rates["random rows"]
    print("| what | M rows/s | MB/s | ratio | target |\n|---|---|---|---|---|")
    rows = [
        ("sequential write (8 MiB writes, fsync)", args.examples / write_seconds, "1", "-"),
        ("write_regression_file", args.examples / ours_seconds, f"{write_ratio:.2f}", ">= 0.5"),
        ("sequential read (8 MiB reads)", rates["sequential read"], "1", "-"),
        (
            f"shuffled epoch, buffer {first} blocks",
            rates["shuffled epoch"],
            f"{shuffled_ratio:.2f}",
            ">= 0.5",
        ),
        (
            f"shuffled epoch, buffer {first} blocks, file in the page cache",
            rates["shuffled epoch, file cached"],
            f"{rates['shuffled epoch, file cached'] / rates['sequential read']:.2f}",
            "-",
        ),
        *[
            (
                f"shuffled epoch, buffer {count} blocks",
                rate,
                f"{rate / rates['sequential read']:.2f}",
                "-",
            )
            for count, rate in larger.items()
        ],
        (
            f"random rows ({args.random_rows:,} timed)",
            rates["random rows"],
            f"{rates['random rows'] / rates['sequential read']:.5f}",
            "-",
        ),
    ]
    for name, rate, ratio, target in rows:
        print(f"| {name} | {rate / 1e6:.4f} | {rate * 12 / 1e6:.1f} | {ratio} | {target} |")
    print(
        f"\nwrite ratios are to the sequential write, read ratios to the sequential read; an "
        f"epoch of random rows would take {random_epoch / 3600:.1f} h, the shuffled epoch took "
        f"{args.examples / rates['shuffled epoch']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
