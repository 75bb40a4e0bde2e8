"""Weigh and time the book: every figure of `make bench` (`python -m tools.bench`; `--only`
picks sections). Figures, not tests: the ones worth quoting are ratios measured side by side in
one run, which hold across machines and loads better than rates.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections import namedtuple
from pathlib import Path

import numpy as np
import psutil
import torch
from playwright.sync_api import sync_playwright

import d2lsave
from d2lsetup import FRAMEWORKS
from tools import explorer_page as ep
from tools.book import ROOT

TARGET = 0.5  # streams: of torch.randn's rate from batch 1024; io: of sequential writes, reads
# How much each section reads, writes and repeats; QUICK is a smoke run of every section.
Sizes = namedtuple(
    "Sizes",
    "loader_examples framework_examples stream_examples file_examples costly_examples "
    "random_rows repeats batch_sizes stream_batch_sizes visits presses points",
    defaults=(5, 200, (1000, 10_000)),
)
FULL = Sizes(10**6, 2 * 10**5, 2**22, 10**8, 2000, 3000, 3, (32, 128, 1024), (256, 1024, 4096))
QUICK = Sizes(20_000, 10_000, 2**16, 10**6, 100, 200, 1, (32, 1024), (256, 4096), 1, 20, (1000,))


def table(header: list[str], rows: list[list]) -> None:
    """A Markdown table, as the README quotes them."""
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")
    print()


def machine(folder: Path) -> str:
    """The processor, memory, Python, torch, and the disk and file system under `folder`."""
    mounts = [p for p in psutil.disk_partitions(all=True) if folder.is_relative_to(p.mountpoint)]
    disk = max(mounts, key=lambda p: len(p.mountpoint))
    return (
        f"{platform.machine()} ({torch.backends.cpu.get_cpu_capability()}), "
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.1f} GiB; "
        f"Python {platform.python_version()}, torch {torch.__version__} on "
        f"{torch.get_num_threads()} threads; {folder} on {disk.device}, {disk.fstype}\n"
    )


def costly_batch(indices: list[int]) -> torch.Tensor:
    """A minibatch of examples that cost ~0.5 ms of CPU each, like decoding images."""
    rows = []
    for index in indices:
        pixels = torch.randn(128, 128, generator=torch.Generator().manual_seed(index))
        for _ in range(10):
            pixels = torch.fft.fft2(pixels).real / 128
        rows.append(pixels.mean(0)[:3])
    return torch.stack(rows)


# Run in a framework's own environment: prints {batch size: {reader: examples per second}}.
MEASURE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
examples, repeats = int(sys.argv[2]), int(sys.argv[3])
data = module.SyntheticRegressionData(w=[2, -3.4], b=4.2, num_train=examples, num_val=0, seed=0)
print(json.dumps({size: module.loader_throughput(data.X, data.y, int(size), repeats)
                  for size in sys.argv[4:]}))
"""


def readers(title: str, sizes: Sizes, examples: int, frameworks, baseline: str) -> None:
    """Each framework's `loader_throughput`, in a fresh process of its environment: M examples
    per second, and in brackets the multiple of `baseline`'s, measured in the same process."""
    print(f"## {title}: {examples:,} in-memory examples, best of {sizes.repeats} epochs\n")
    rows = []
    for framework in frameworks:
        arguments = [f"d2lsave.{framework.module}", examples, sizes.repeats, *sizes.batch_sizes]
        python = ROOT / framework.environment / "bin" / "python"
        command = [python, "-c", MEASURE, *map(str, arguments)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{framework.title}: {result.stderr.strip()[-2000:]}")
        rates = json.loads(result.stdout.strip().splitlines()[-1]).values()
        for reader in next(iter(rates)):
            cells = [f"{r[reader] / 1e6:.2f} M/s ({r[reader] / r[baseline]:.3g}x)" for r in rates]
            rows.append([framework.title, reader, *cells])
    table(["framework", "reader"] + [f"batch {size}" for size in sizes.batch_sizes], rows)


def loaders(sizes: Sizes, folder: Path) -> None:
    """The chapter's PyTorch readers; then what worker processes add on costly examples."""
    baseline = "DataLoader(TensorDataset)"
    readers(
        "The chapter's readers", sizes, sizes.loader_examples, [FRAMEWORKS["pytorch"]], baseline
    )
    threads, costly, workers = torch.get_num_threads(), range(sizes.costly_examples), {}
    torch.set_num_threads(1)  # one core per process, so that workers are what adds cores
    try:
        for count in (0, 2):
            reader = torch.utils.data.DataLoader(
                costly, 32, collate_fn=costly_batch, num_workers=count
            )
            workers[count] = len(costly) / d2lsave.fastest_epoch(lambda r=reader: r, 2)
    finally:
        torch.set_num_threads(threads)
    print("Examples costing ~0.5 ms of CPU each, batch 32, one thread per process\n")
    rows = [[count, f"{rate:,.0f}", f"{rate / workers[0]:.2f}x"] for count, rate in workers.items()]
    table(["num_workers", "examples/s", "vs 0 workers"], rows)


def frameworks(sizes: Sizes, folder: Path) -> None:
    scratch, examples = "from-scratch iterator", sizes.framework_examples
    readers("Readers in each framework", sizes, examples, FRAMEWORKS.values(), scratch)


def streams(sizes: Sizes, folder: Path) -> None:
    """What drawing every minibatch from its own seed costs, against one torch.randn call."""
    n, repeats = sizes.stream_examples, sizes.repeats

    def randn_rate() -> float:
        return n / min(timeit.repeat(lambda: torch.randn(n, 3), number=1, repeat=repeats))

    print(f"## SyntheticRegressionStream against torch.randn: {n:,} examples, best of {repeats}\n")
    # torch.randn's best rate over the whole run is the baseline, so that a moment of load on a
    # shared machine does not flatter the stream.
    randn, rows = randn_rate(), []
    for size in sizes.stream_batch_sizes:
        data = d2lsave.SyntheticRegressionStream([2, -3.4], 4.2, size, num_batches=n // size)
        rate = size * len(data) / d2lsave.fastest_epoch(lambda d=data: d, repeats)
        randn = max(randn, randn_rate())
        rows.append([size, rate, f">= {TARGET:.0%}" if size >= 1024 else "-"])
    table(
        ["batch size", "stream, M examples/s", "torch.randn, M examples/s", "ratio", "target"],
        [[s, f"{r / 1e6:.2f}", f"{randn / 1e6:.2f}", f"{r / randn:.0%}", t] for s, r, t in rows],
    )


def sequential_write(path: Path, size: int, piece: int = 2**23) -> float:
    """Seconds to write `size` random bytes in `piece`-sized writes, fsync included."""
    data, start = np.random.default_rng(0).bytes(piece), time.perf_counter()
    with open(path, "wb", buffering=0) as file:
        for offset in range(0, size, piece):
            file.write(data[: size - offset])
        os.fsync(file.fileno())
    return time.perf_counter() - start


def io(sizes: Sizes, folder: Path, block_size: int = 2**16, buffer: int = 2) -> None:
    """The dataset file on disk, written, then read in blocks of 768 kB, 2 to a buffer."""
    n, path = sizes.file_examples, folder / "rows.npy"
    print(f"## The dataset file: {n:,} examples, {n * 12 / 1e9:.2f} GB; buffer {buffer} blocks\n")
    rates = {"sequential write (8 MiB writes, fsync)": n / sequential_write(folder / "seq", n * 12)}
    (folder / "seq").unlink()
    start = time.perf_counter()
    d2lsave.write_regression_file(path, [2, -3.4], 4.2, 0.01, num_examples=n, progress=False)
    rates["write_regression_file"] = n / (time.perf_counter() - start)
    rates |= d2lsave.time_reads(path, block_size, buffer, random_rows=sizes.random_rows)
    rows = []
    for what, rate in rates.items():
        base = next(iter(rates.values())) if "write" in what else rates["sequential read"]
        target = f">= {TARGET}" if what in ("write_regression_file", "shuffled epoch") else "-"
        rows.append(
            [what, f"{rate / 1e6:.4f}", f"{rate * 12e-6:.1f}", f"{rate / base:.3g}", target]
        )
    table(["what", "M rows/s", "MB/s", "ratio", "target"], rows)
    print(
        "Write ratios are to the sequential write, read ratios to the sequential read; an epoch "
        f"of random rows ({sizes.random_rows:,} timed) would take "
        f"{n / rates['random rows'] / 3600:.1f} h, the shuffled epoch took "
        f"{n / rates['shuffled epoch']:.1f} s\n"
    )


def body_size(request) -> int:
    try:
        return len(request.response().body())
    except Exception:  # no response, or a body the browser no longer holds (a redirect)
        return 0


TIMING = """() => [performance.getEntriesByType("navigation")[0].loadEventStart / 1000,
                   window.__firstPaint === undefined ? null : window.__firstPaint / 1000]"""


def visit(browser, path: str) -> tuple[int, float, float | None]:
    """One visit with an empty cache: bytes loaded, and seconds from navigation to the load
    event and to the first plot."""
    page, loaded = browser.new_page(viewport={"width": 1280, "height": 900}), []
    page.add_init_script(ep.RECORD_DRAWINGS)
    ep.watch(page)
    page.on("requestfinished", lambda request: loaded.append(body_size(request)))
    ep.goto(page, f"{ep.BOOK}/{path}")
    page.wait_for_load_state("networkidle")
    load, draw = page.evaluate(TIMING)
    page.close()  # and its context
    return sum(loaded), load, draw


def pages(sizes: Sizes, folder: Path) -> None:
    """Every page opened from disk, offline, the medians of `sizes.visits` visits each."""
    visits: dict[str, list] = {path: [] for path in ep.PAGES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=ep.CHROMIUM, args=ep.CHROMIUM_ARGS)
        for _ in range(sizes.visits):  # pages interleaved, so that a busy spell hits them all
            for path, runs in visits.items():
                runs.append(visit(browser, path))
    medians = {
        path: [statistics.median(f) if None not in f else 0 for f in zip(*runs, strict=True)]
        for path, runs in visits.items()
    }
    print(f"## Pages, medians of {sizes.visits} visits, each with an empty cache\n")
    table(
        ["page", "bytes loaded", "load s", "first plot s"],
        [
            [path, f"{size / 1e6:.2f} MB", f"{load:.2f}", f"{draw:.2f}" if draw else "-"]
            for path, (size, load, draw) in medians.items()
        ],
    )
    draw, intro = medians["book/explorer.html"][2], medians[ep.PAGES[0]][1]
    print(
        "Targets: every page <= 2 MB; the explorer's first plot <= 1 s and <= 1.2 times the "
        f"intro's load ({draw / intro:.2f})\n"
    )


RECORD_KEYS = """() => {
  window.__keys = [];
  document.addEventListener("keydown", () => window.__keys.push(performance.now()), true);
}"""
# From each key press to the end of the first drawing that ends after it, in milliseconds.
LATENCIES = """() => window.__keys.map((t) => window.__drawings.find((d) => d.end >= t)?.end - t)
  .filter((latency) => !Number.isNaN(latency))"""


def explorer(sizes: Sizes, folder: Path) -> None:
    """Arrow keys move the noise slider (the same draws, new labels) or the seed slider (new
    draws): from keydown to the end of the drawing."""
    print(f"## The explorer, from a key press to the end of the redraw: {sizes.presses} presses\n")
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=ep.CHROMIUM, args=ep.CHROMIUM_ARGS)
        for name, points in itertools.product(("noise", "seed"), sizes.points):
            page = browser.new_page()
            page.add_init_script(ep.RECORD_DRAWINGS)
            ep.watch(page)
            ep.goto(page, f"{ep.BOOK}/book/explorer.html", "networkidle")
            if f"n = {points} examples" not in ep.explorer(page).inner_text():
                ep.set_slider(page, "n", points)
            page.evaluate(RECORD_KEYS)
            page.get_by_role("slider", name=ep.LABELS[name]).focus()
            for i in range(sizes.presses):
                page.keyboard.press("ArrowRight" if i % 20 < 10 else "ArrowLeft")
            page.wait_for_timeout(200)
            ms = page.evaluate(LATENCIES)
            page.close()
            p95 = statistics.quantiles(ms, n=100, method="inclusive")[94]
            figures = [f"{f:.2f}" for f in (statistics.median(ms), p95, max(ms))]
            rows.append([name, f"{points:,}", *figures])
    table(["slider", "points", "p50 ms", "p95 ms", "max ms"], rows)


SECTIONS = {f.__name__: f for f in (pages, loaders, frameworks, streams, io, explorer)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    missing = [path for path in ep.PAGES if not (ep.HTML / path).exists()]
    if {"pages", "explorer"} & set(args.only) and missing:
        parser.error(f"--only pages/explorer: {', '.join(missing)} not built; run make book")
    (ROOT / "_build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=ROOT / "_build") as scratch:
        print(machine(Path(scratch)))
        for name in args.only:
            SECTIONS[name](QUICK if args.quick else FULL, Path(scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
