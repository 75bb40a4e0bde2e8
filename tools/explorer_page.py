"""Serving the built book and driving its explorer, for the browser tests and the benchmark."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LABELS = {
    "noise": "noise σ",
    "batch_size": "batch size",
    "n": "examples n",
    "w1": "weight w₁",
    "w2": "weight w₂",
    "b": "bias b",
    "seed": "data seed",
}

RECORD_INPUTS = """() => {
  window.__inputTimes = [];
  document.addEventListener("keydown", () => window.__inputTimes.push(performance.now()),
                            {capture: true});
}"""


# The live explorer, drawn by the widget manager; until then a page may show its preview
# (book/_widgets/preview.js), a picture of the same plot, which the live one replaces.
LIVE_EXPLORER = ".widget-subarea:not(.widget-preview) .regression-explorer"


def explorer(page):
    """The live explorer's element, once it has drawn and its preview, if any, has gone."""
    page.wait_for_selector(f"{LIVE_EXPLORER} canvas", state="visible", timeout=20_000)
    return page.locator(LIVE_EXPLORER).first


def slider(page, name: str):
    return page.locator(
        ".widget-slider", has=page.locator(".widget-label", has_text=LABELS[name])
    ).first


def set_slider(page, name: str, value: float) -> None:
    """Type a value into a slider's readout, as a reader can, and wait for the redraw."""
    draws = explorer(page).evaluate("e => e.__drawTimes.length")
    readout = slider(page, name).locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(str(value))
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([draws]) => document.querySelector('.regression-explorer').__drawTimes.length > draws",
        arg=[draws],
        timeout=10_000,
    )


def drawn(page) -> dict:
    """What the explorer drew last: settings, points, labels, minibatch and readout."""
    return explorer(page).evaluate("""e => ({
        n: e.__state.n, w1: e.__state.w1, w2: e.__state.w2, b: e.__state.b,
        noise: e.__state.noise, seed: e.__state.seed, batchSize: e.__state.batchSize,
        x1: Array.from(e.__state.x1), x2: Array.from(e.__state.x2), y: Array.from(e.__state.y),
        eta: Array.from(e.__state.eta),
        batch: e.__state.batch, fit: e.__state.fit, dataset: {...e.dataset},
        readout: e.querySelector(".explorer-readout").textContent,
        draws: e.__drawTimes.length})""")


def painted_rows(page, rgb: tuple[int, int, int] = (230, 159, 0)) -> float:
    """The mean row, in canvas pixels, of the pixels painted in `rgb` (the minibatch's orange)."""
    return explorer(page).evaluate(
        """(e, rgb) => {
        const canvas = e.querySelector("canvas");
        const {data, width} = canvas.getContext("2d").getImageData(
            0, 0, canvas.width, canvas.height);
        let rows = 0, count = 0;
        for (let p = 0; p < data.length; p += 4) {
          if (data[p] === rgb[0] && data[p + 1] === rgb[1] && data[p + 2] === rgb[2]) {
            rows += Math.floor(p / 4 / width); count++;
          }
        }
        return count ? rows / count : null;
    }""",
        list(rgb),
    )


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """A loopback web server for a folder; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base class's signature
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def jupyter_server(
    command: list[str], port: int, ready_path: str, environment: dict[str, str]
) -> Iterator[str]:
    """A Jupyter server (JupyterLab or classic Notebook) started by `command` on `port`;
    yields its URL once `ready_path` answers, and stops the server afterwards."""
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/{ready_path}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclass
class PageLog:
    """What a page did that a test or the benchmark may assert on."""

    console_errors: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def watch(page, allowed: tuple[str, ...]) -> PageLog:
    """Let the page load only URLs starting with one of `allowed`, and record what it did.

    Every other request is aborted and recorded, as are console errors, uncaught exceptions
    and failed requests.
    """
    log = PageLog()

    def route(request_route):
        url = request_route.request.url
        if url.startswith(allowed):
            request_route.continue_()
        else:
            log.blocked_requests.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and log.console_errors.append(m.text))
    page.on("pageerror", lambda error: log.console_errors.append(str(error)))
    page.on("requestfailed", lambda r: log.failed_requests.append(r.url))
    return log


def open_in_mode(browser, server: str, path: str, mode: str, scale: float = 1):
    """A new page at `path` of the book's server, offline, in a colour mode a reader chose.

    The theme keeps the reader's choice in localStorage ("mode": light, dark or auto) and sets
    `data-theme` on <html> from it before the page is drawn.
    """
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, device_scale_factor=scale
    )
    context.add_init_script(f"localStorage.setItem('mode', '{mode}')")
    page = context.new_page()
    page.log = watch(page, allowed=(server, "data:"))
    page.goto(f"{server}/{path}", wait_until="networkidle")
    return page


def relative_luminance(rgb) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour given as 0-255 channels."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first, second) -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)))[::-1]
    return (lighter + 0.05) / (darker + 0.05)
