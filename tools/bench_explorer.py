"""Time the explorer from a slider input to the redrawn plot, in headless Chromium.

The built book is served from the browser context itself, every other request refused. For
each size, the number of examples is typed into its slider, then the noise slider is moved
with the arrow keys (the same draws, new labels), then the seed slider (new draws: the page
computes them); each latency runs from the keydown event to the end of the drawing that follows
(the browser shows the result at its next frame). Run by `make bench` after `make book`.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from playwright.sync_api import sync_playwright

from tools.explorer_page import (
    BOOK,
    CHROMIUM,
    CHROMIUM_ARGS,
    HTML,
    LABELS,
    RECORD_DRAWINGS,
    explorer,
    set_slider,
    watch,
)

RECORD_KEYS = """() => {
  window.__keys = [];
  document.addEventListener("keydown", () => window.__keys.push(performance.now()), true);
}"""
# From each key press to the end of the first drawing that ends after it, in milliseconds.
LATENCIES = """() => window.__keys.map((t) => window.__drawings.find((d) => d.end >= t)?.end - t)
  .filter((latency) => !Number.isNaN(latency))"""


def measure(page, points: int, presses: int, name: str) -> list[float]:
    """Latencies in milliseconds of `presses` arrow-key moves of one slider."""
    if f"n = {points} examples" not in explorer(page).locator(".explorer-readout").inner_text():
        set_slider(page, "n", points)
    page.evaluate(RECORD_KEYS)
    page.get_by_role("slider", name=LABELS[name]).focus()
    for i in range(presses):
        page.keyboard.press("ArrowRight" if i % 20 < 10 else "ArrowLeft")
    page.wait_for_timeout(200)
    return page.evaluate(LATENCIES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args(argv)
    if not (HTML / "book" / "explorer.html").exists():
        print("build the book first: make book", file=sys.stderr)
        return 2
    print("| slider | points | presses | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|---|")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in ("noise", "seed"):
            for points in args.sizes:
                context = browser.new_context(base_url=BOOK)
                context.add_init_script(RECORD_DRAWINGS)
                log = watch(context, html=HTML)
                page = context.new_page()
                page.goto("book/explorer.html", wait_until="networkidle")
                explorer(page)
                latencies = measure(page, points, args.presses, name)
                p95 = statistics.quantiles(latencies, n=100, method="inclusive")[94]
                print(
                    f"| {name} | {points:,} | {len(latencies)} | "
                    f"{statistics.median(latencies):.2f} | {p95:.2f} | {max(latencies):.2f} |"
                )
                assert not log.blocked_requests, log.blocked_requests
                context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
