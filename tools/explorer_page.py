"""The built book in headless Chromium, opened from disk and offline as readers may, and its
explorer seen from outside the page, for the PDF, the browser tests and the benchmarks (the page
ships no test code)."""

from __future__ import annotations

from types import SimpleNamespace

from tools.book import ROOT, toc_pages
from tools.env import CHROMIUM as CHROMIUM

CHROMIUM_ARGS = "--no-sandbox --disable-gpu --disable-quic --no-first-run --disable-sync \
--disable-background-networking --disable-component-update".split()
HTML = ROOT / "_build" / "html"
PAGES = [page.relative_to(ROOT).with_suffix(".html").as_posix() for page in toc_pages()]
BOOK = HTML.as_uri()
OFFLINE = (BOOK + "/", "data:", "blob:")  # what a page of the book may load
LABELS = {
    "noise": "noise σ",
    "batch_size": "batch size",
    "n": "examples n",
    "w1": "weight w₁",
    "w2": "weight w₂",
    "b": "bias b",
    "seed": "data seed",
}
# Until the widget manager has drawn it, a page may show a preview (book/_widgets/preview.js).
LIVE_EXPLORER = ".widget-subarea:not(.widget-preview) .regression-explorer"

# Records the explorer's first paint (its preview's or its own), each drawing of the live
# explorer (its start, the background, and end, the last line), and the last drawing's
# rectangles and lines as the page hands them to the canvas.
RECORD_DRAWINGS = """(() => {
  const proto = CanvasRenderingContext2D.prototype, drawings = (window.__drawings = []);
  const wrap = (name, record) => {
    const original = proto[name];
    proto[name] = function (...args) {
      const canvas = this.canvas;
      if (canvas.closest(".regression-explorer")) {
        window.__firstPaint ??= performance.now();
        if (!canvas.closest(".widget-preview")) record(args);
      }
      return original.apply(this, args);
    };
  };
  wrap("fillRect", (args) => {
    if (args[0] === 0 && args[1] === 0) {
      drawings.push({start: performance.now(), end: null});
      window.__plot = {rects: [], lines: []};
    }
    window.__plot.rects.push(args);
  });
  wrap("moveTo", (args) => window.__plot.lines.push(args));
  wrap("lineTo", (args) => {
    window.__plot.lines.at(-1).push(...args);
    drawings.at(-1).end = performance.now();
  });
})();"""


def watch(target, allowed: tuple[str, ...] = OFFLINE) -> SimpleNamespace:
    """Let a page or context load only URLs starting with `allowed`; log refused and failed
    requests and console errors."""
    context = getattr(target, "context", target)
    log = SimpleNamespace(console_errors=[], blocked_requests=[], failed_requests=[])

    def route(request_route) -> None:
        if request_route.request.url.startswith(allowed):
            return request_route.continue_()
        log.blocked_requests.append(request_route.request.url)
        request_route.abort()

    context.route("**/*", route)
    context.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    context.on("weberror", lambda error: log.console_errors.append(str(error.error)))
    context.on("requestfailed", lambda request: log.failed_requests.append(request.url))
    return log


def goto(page, url: str, until: str = "load"):
    """Open a page of the book; one with widgets once its live explorer has drawn."""
    page.goto(url, wait_until=until)
    if page.locator("script[type*=widget-view]").count():
        explorer(page)
    return page


def explorer(page):
    """The live explorer's element, once it has drawn and its preview, if any, has gone."""
    page.wait_for_selector(f"{LIVE_EXPLORER} canvas", state="visible", timeout=60_000)
    return page.locator(LIVE_EXPLORER).first


def slider(page, name: str):
    label = page.locator(".widget-label", has_text=LABELS[name])
    return page.locator(".widget-slider", has=label).first


def set_slider(page, name: str, value: float | None = None) -> None:
    """Type a value into a slider's readout, or without one press the right arrow key on the
    slider, as a reader can, and wait for the redraw."""
    before = page.evaluate("() => window.__drawings.length")
    if value is None:
        page.get_by_role("slider", name=LABELS[name]).focus()
        page.keyboard.press("ArrowRight")
    else:
        slider(page, name).locator(".widget-readout").click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        page.keyboard.press("Enter")
    page.wait_for_function("n => window.__drawings.length > n", arg=before, timeout=10_000)
