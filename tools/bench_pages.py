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

from playwright.sync_api import sync_playwright

from tools.book import ROOT, toc_pages
from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, HTML, RECORD_DRAWINGS, watch

MAX_BYTES = 2_000_000
FIRST_DRAW_SECONDS = 1.0
FIRST_DRAW_OVER_INTRO_LOAD = 1.2
TIMING = """() => ({load: performance.getEntriesByType("navigation")[0].loadEventStart / 1000,
                   draw: window.__firstPaint === undefined ? null : window.__firstPaint / 1000})"""


def visit(browser, path: str) -> dict:
    """One page opened once, with an empty cache: bytes, files, load and first-plot seconds,
    and the requests that left the book."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_DRAWINGS)
    log = watch(context, allowed=("file://", "data:", "blob:"))
    sizes: list[int] = []
    page = context.new_page()
    page.on("requestfinished", lambda request: sizes.append(_body_size(request)))
    page.goto((HTML / path).as_uri(), wait_until="load")
    if "explorer" in path:
        page.wait_for_function("() => window.__firstPaint !== undefined", timeout=60_000)
    page.wait_for_load_state("networkidle")
    timing = page.evaluate(TIMING)
    context.close()
    return {"bytes": sum(sizes), "files": len(sizes), **timing, "blocked": log.blocked_requests}


def _body_size(request) -> int:
    try:
        return len(request.response().body()) if request.response() else 0
    except Exception:  # a body the browser no longer holds (a redirect, a cancelled fetch)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="visits per page (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs must be at least 1, got {args.runs}")
    pages = [page.relative_to(ROOT).with_suffix(".html").as_posix() for page in toc_pages()]
    missing = [p for p in pages if not (HTML / p).exists()]
    if missing:
        print(f"not built: {', '.join(missing)}; build the book first: make book", file=sys.stderr)
        return 2
    visits: dict[str, list[dict]] = {p: [] for p in pages}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.runs):  # pages interleaved, so that a busy spell hits them all
            for path in pages:
                visits[path].append(visit(browser, path))
        browser.close()
    median = {
        path: {
            key: statistics.median(values) if values else None
            for key in ("bytes", "files", "load", "draw")
            for values in [[v[key] for v in runs if v[key] is not None]]
        }
        for path, runs in visits.items()
    }
    print("| page | bytes loaded | files | load s | first plot s |\n|---|---|---|---|---|")
    for path, m in median.items():
        drawn = f"{m['draw']:.2f}" if m["draw"] is not None else "–"
        print(
            f"| {path} | {m['bytes'] / 1e6:.2f} MB | {m['files']:.0f} | {m['load']:.2f} | {drawn} |"
        )
    draw, intro_load = median["book/explorer.html"]["draw"], median[pages[0]]["load"]
    checks = {
        f"every page ≤ {MAX_BYTES / 1e6:g} MB": all(
            m["bytes"] <= MAX_BYTES for m in median.values()
        ),
        f"explorer's first plot ≤ {FIRST_DRAW_SECONDS:g} s ({draw:.2f} s)": draw
        <= FIRST_DRAW_SECONDS,
        f"first plot / intro load ≤ {FIRST_DRAW_OVER_INTRO_LOAD:g} ({draw / intro_load:.2f})": (
            draw / intro_load <= FIRST_DRAW_OVER_INTRO_LOAD
        ),
        "no request leaves the book": not any(v["blocked"] for vs in visits.values() for v in vs),
    }
    print(f"\nmedians of {args.runs} visits per page, each with an empty cache")
    for claim, holds in checks.items():
        print(f"{'holds' if holds else 'FAILS'}: {claim}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
