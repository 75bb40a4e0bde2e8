"""Weigh and time every page of the built book, opened from disk in headless Chromium.

For each page of the table of contents: the bytes it loads (uncompressed, every file it
requests until the network is idle), the time of its load event, and for the explorer the time
its plot is first drawn on the canvas, all from the start of navigation. Each page is opened
`--runs` times in a fresh browser context (an empty cache, as a first visit) and the medians are
shown. Every request that leaves the book is blocked and counted: there must be none. Run by
`make bench` after `make book`; exits 1 when a target of the table below fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

from tools.book_notebooks import ROOT, toc_pages
from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, watch

HTML = ROOT / "_build" / "html"
MAX_BYTES = 2_000_000
FIRST_DRAW_SECONDS = 1.0
FIRST_DRAW_OVER_INTRO_LOAD = 1.2

# Records when a canvas inside the explorer is first painted: a drawing call of its 2D
# context, seen from outside the page's own code.
RECORD_FIRST_DRAW = """(() => {
  const proto = CanvasRenderingContext2D.prototype, fillRect = proto.fillRect;
  proto.fillRect = function (...args) {
    if (window.__firstDraw === undefined && this.canvas.closest(".regression-explorer"))
      window.__firstDraw = performance.now();
    return fillRect.apply(this, args);
  };
})();"""


@dataclass
class Visit:
    """One page opened once: what it loaded and when it was ready."""

    bytes: int
    files: int
    load: float
    first_draw: float | None
    blocked: list[str]


def built_pages() -> list[str]:
    """The built pages of the table of contents, in reading order, as paths under _build/html."""
    return [page.relative_to(ROOT).with_suffix(".html").as_posix() for page in toc_pages()]


def visit(browser, page_path: Path, explorer: bool) -> Visit:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_FIRST_DRAW)
    page = context.new_page()
    log = watch(page, allowed=("file://", "data:", "blob:"))
    sizes: list[int] = []
    page.on("requestfinished", lambda request: sizes.append(_body_size(request)))
    page.goto(page_path.as_uri(), wait_until="load")
    if explorer:
        page.wait_for_function("() => window.__firstDraw !== undefined", timeout=60_000)
    page.wait_for_load_state("networkidle")
    timing = page.evaluate("""() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return {load: nav.loadEventStart, draw: window.__firstDraw ?? null};
    }""")
    context.close()
    draw = timing["draw"] / 1000 if timing["draw"] is not None else None
    return Visit(sum(sizes), len(sizes), timing["load"] / 1000, draw, log.blocked_requests)


def _body_size(request) -> int:
    response = request.response()
    try:
        return len(response.body()) if response else 0
    except Exception:  # a body the browser no longer holds (a redirect, a cancelled fetch)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="visits per page (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    pages = built_pages()
    missing = [p for p in pages if not (HTML / p).exists()]
    if missing:
        print(f"not built: {', '.join(missing)}; build the book first: make book", file=sys.stderr)
        return 2
    results: dict[str, list[Visit]] = {p: [] for p in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.runs):  # pages interleaved, so that a busy spell hits them all
            for path in pages:
                results[path].append(visit(browser, HTML / path, "explorer" in path))
        browser.close()
    print("| page | bytes loaded | files | load s | first plot s |\n|---|---|---|---|---|")
    median = {p: _medians(v) for p, v in results.items()}
    for path, (size, files, load, draw) in median.items():
        drawn = f"{draw:.2f}" if draw is not None else "–"
        print(f"| {path} | {size / 1e6:.2f} MB | {files} | {load:.2f} | {drawn} |")
    intro_load = median[pages[0]][2]
    explorer_draw = median["book/explorer.html"][3]
    checks = {
        f"every page ≤ {MAX_BYTES / 1e6:g} MB": all(m[0] <= MAX_BYTES for m in median.values()),
        f"explorer's first plot ≤ {FIRST_DRAW_SECONDS:g} s ({explorer_draw:.2f} s)": explorer_draw
        <= FIRST_DRAW_SECONDS,
        f"first plot / intro load ≤ {FIRST_DRAW_OVER_INTRO_LOAD:g} "
        f"({explorer_draw / intro_load:.2f})": explorer_draw / intro_load
        <= FIRST_DRAW_OVER_INTRO_LOAD,
        "no request leaves the book": not any(v.blocked for vs in results.values() for v in vs),
    }
    print(f"\nmedians of {args.runs} visits per page, each with an empty cache")
    for claim, holds in checks.items():
        print(f"{'holds' if holds else 'FAILS'}: {claim}")
    return 0 if all(checks.values()) else 1


def _medians(visits: list[Visit]) -> tuple[int, int, float, float | None]:
    draws = [v.first_draw for v in visits if v.first_draw is not None]
    return (
        int(statistics.median(v.bytes for v in visits)),
        int(statistics.median(v.files for v in visits)),
        statistics.median(v.load for v in visits),
        statistics.median(draws) if draws else None,
    )


if __name__ == "__main__":
    raise SystemExit(main())
