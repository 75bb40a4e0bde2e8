"""Time the explorer from a slider input to the redrawn plot, in headless Chromium.

The built page is served on loopback with every other request blocked. For each size, the
number of examples is typed into its slider, then the noise slider is moved with the arrow
keys (the same draws, new labels), then the seed slider (new draws: the page computes them);
each latency runs from the keydown event to the end of the drawing call that follows (the
browser shows the result at its next frame). Run by `make bench` after `make book`.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from playwright.sync_api import sync_playwright

from tools.book_notebooks import ROOT
from tools.explorer_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LABELS,
    RECORD_INPUTS,
    explorer,
    serve,
    set_slider,
    watch,
)

HTML = ROOT / "_build" / "html"

LATENCIES = """e => {
  const inputs = window.__inputTimes, draws = e.__drawTimes, result = [];
  for (const t of inputs) {
    const next = draws.find(d => d >= t);
    if (next !== undefined) result.push(next - t);
  }
  return result;
}"""


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def measure(page, points: int, presses: int, name: str = "noise") -> list[float]:
    """Latencies in milliseconds of `presses` arrow-key moves of one slider."""
    if explorer(page).evaluate("e => e.dataset.points") != str(points):
        set_slider(page, "n", points)
    page.evaluate(RECORD_INPUTS)
    handle = page.get_by_role("slider", name=LABELS[name])
    handle.focus()
    for i in range(presses):
        page.keyboard.press("ArrowRight" if i % 20 < 10 else "ArrowLeft")
    page.wait_for_timeout(200)
    return explorer(page).evaluate(LATENCIES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args(argv)
    if not (HTML / "book" / "explorer.html").exists():
        print("build the book first: make book", file=sys.stderr)
        return 2
    print("| slider | points | presses | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|---|")
    with serve(HTML) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in ("noise", "seed"):
            for points in args.sizes:
                page = browser.new_page()
                log = watch(page, allowed=(url, "data:"))
                page.goto(f"{url}/book/explorer.html", wait_until="networkidle")
                explorer(page)
                latencies = measure(page, points, args.presses, name)
                print(
                    f"| {name} | {points:,} | {len(latencies)} | "
                    f"{statistics.median(latencies):.2f} | "
                    f"{percentile(latencies, 95):.2f} | {max(latencies):.2f} |"
                )
                assert not log.blocked_requests, log.blocked_requests
                page.close()
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
