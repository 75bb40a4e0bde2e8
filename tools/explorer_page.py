"""The built book in headless Chromium, offline, and its explorer seen from outside the page,
for the browser tests and the benchmarks (the page ships no test code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tools.pdf import CHROMIUM as CHROMIUM
from tools.pdf import CHROMIUM_ARGS as CHROMIUM_ARGS

HTML = Path(__file__).resolve().parent.parent / "_build" / "html"
BOOK = "http://book.test"  # the origin the book is served at, from `HTML`, inside the browser
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


@dataclass
class PageLog:
    """What the pages of a browser context did that a test or the benchmark asserts on."""

    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def watch(target, allowed: tuple[str, ...] = (), html: Path | None = None) -> PageLog:
    """Let a page or context load only URLs starting with `allowed`, and with `html` the book
    served at `BOOK`; log refused and failed requests and console errors."""
    context = getattr(target, "context", target)
    log = PageLog()

    def route(request_route) -> None:
        url = request_route.request.url
        if html is not None and url.startswith(BOOK + "/"):
            path = html / unquote(urlsplit(url).path).lstrip("/")
            path = path / "index.html" if path.is_dir() else path
            if path.is_file():
                return request_route.fulfill(path=path)
            log.failed_requests.append(url)
            return request_route.fulfill(status=404)
        if url.startswith(allowed):
            return request_route.continue_()
        log.blocked_requests.append(url)
        request_route.abort()

    context.route("**/*", route)
    context.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    context.on("weberror", lambda error: log.console_errors.append(str(error.error)))
    context.on("requestfailed", lambda request: log.failed_requests.append(request.url))
    return log


def explorer(page):
    """The live explorer's element, once it has drawn and its preview, if any, has gone."""
    page.wait_for_selector(f"{LIVE_EXPLORER} canvas", state="visible", timeout=20_000)
    return page.locator(LIVE_EXPLORER).first


def drawings(page) -> int:
    """How many times the live explorer has drawn its plot."""
    return page.evaluate("() => window.__drawings.length")


def slider(page, name: str):
    label = page.locator(".widget-label", has_text=LABELS[name])
    return page.locator(".widget-slider", has=label).first


def set_slider(page, name: str, value: float) -> None:
    """Type a value into a slider's readout, as a reader can, and wait for the redraw."""
    before = drawings(page)
    slider(page, name).locator(".widget-readout").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    page.wait_for_function("n => window.__drawings.length > n", arg=before, timeout=10_000)
