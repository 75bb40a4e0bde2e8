"""Stage what the book serves itself instead of CDNs, so that it reads offline (`make book`):
KaTeX's stylesheet and fonts, and the widget manager and its preview bundled by esbuild, from
`node_modules/` into `_build/web_assets/`, afresh each time: npm gives every file one 1985
mtime, so no file time can tell an upgrade."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

from tools.book import ROOT

NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "_build" / "web_assets"
KATEX = "katex/dist"
KATEX_FILES = ["katex.min.css", "fonts/*.woff2"]  # every browser the book supports reads woff2
KATEX_PACKAGE = NODE_MODULES / "katex" / "package.json"
WIDGETS = ROOT / "book" / "_widgets"  # manager.js, and preview.js, which draws before it loads
# anywidget's front end, an AMD module in the pinned wheel, found without importing anywidget
ANYWIDGET_FRONT_END = (
    Path(importlib.util.find_spec("anywidget").origin).parent / "nbextension" / "index.js"
)


def esbuild(entry: str, *options: str) -> None:
    """Bundle and minify `book/_widgets/<entry>` into `TARGET/widgets` with esbuild."""
    command = [str(NODE_MODULES / ".bin" / "esbuild"), str(WIDGETS / entry), "--bundle"]
    command += ["--minify", "--format=iife", "--target=es2020", "--legal-comments=eof"]
    command += [f"--outdir={TARGET / 'widgets'}", "--log-level=warning", *options]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"esbuild could not bundle {entry}:\n{result.stderr}")


def bundle_widgets() -> None:
    """The widget manager (manager.js and its manager.css), without an HTML sanitizer, and the
    preview (preview.js)."""
    esbuild(
        "manager.js",
        f"--inject:{WIDGETS / 'anywidget-module.js'}",
        f"--alias:anywidget-front-end={ANYWIDGET_FRONT_END}",
        f"--alias:sanitize-html=./{(WIDGETS / 'plain-text-descriptions.js').relative_to(ROOT)}",
    )
    esbuild("preview.js")


def check_katex_version() -> None:
    """Stop when npm's KaTeX is not the version sphinxcontrib-katex typesets with."""
    from sphinxcontrib.katex import katex_version

    installed = json.loads(KATEX_PACKAGE.read_text())["version"]
    if installed != katex_version:
        raise SystemExit(
            f"package.json pins katex {installed}, but sphinxcontrib-katex typesets the "
            f"formulas with KaTeX {katex_version}: pin katex to {katex_version} and run npm install"
        )


def stage() -> list[Path]:
    """Copy or build every asset into an emptied `TARGET`; the files staged."""
    if not NODE_MODULES.is_dir():
        raise SystemExit("node_modules/ is missing: run `npm ci` (make book does)")
    check_katex_version()
    shutil.rmtree(TARGET, ignore_errors=True)
    source = NODE_MODULES / KATEX
    for path in (path for pattern in KATEX_FILES for path in source.glob(pattern)):
        target = TARGET / "katex" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    bundle_widgets()
    return sorted(path for path in TARGET.rglob("*") if path.is_file())
