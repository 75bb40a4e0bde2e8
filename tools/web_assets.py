"""Stage what the book serves itself instead of CDNs, so that it reads offline (`make book`):
KaTeX's stylesheet and fonts, and the widget manager and its preview bundled by esbuild, from
`node_modules/` into `_build/web_assets/`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.book import ROOT

NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "_build" / "web_assets"
KATEX = "katex/dist"
KATEX_FILES = ["katex.min.css", "fonts/*.woff2"]  # every browser the book supports reads woff2
KATEX_PACKAGE = NODE_MODULES / "katex" / "package.json"
WIDGET_MANAGER = ROOT / "book" / "_widgets" / "manager.js"
WIDGET_PREVIEW = WIDGET_MANAGER.parent / "preview.js"  # draws the stored state before it loads
# anywidget's front end, an AMD module in the pinned wheel, found without importing anywidget
ANYWIDGET_FRONT_END = (
    Path(importlib.util.find_spec("anywidget").origin).parent / "nbextension" / "index.js"
)
PLAIN_TEXT = WIDGET_MANAGER.parent / "plain-text-descriptions.js"  # replaces sanitize-html
ESBUILD = NODE_MODULES / ".bin" / "esbuild"


def copy_if_changed(source: Path, target: Path) -> None:
    """Copy unless the target holds the same bytes: npm gives every file one 1985 mtime."""
    if not (target.is_file() and target.read_bytes() == source.read_bytes()):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def esbuild(entry: Path, destination: Path, *options: str) -> list[Path]:
    """Bundle and minify `entry` into `destination` with esbuild; return the files written."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [str(ESBUILD), str(entry), "--bundle", "--minify", "--format=iife"]
        command += ["--target=es2020", "--legal-comments=eof", f"--outdir={scratch}"]
        command += ["--log-level=warning", *options]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"esbuild could not bundle {entry}:\n{result.stderr}")
        built = sorted(Path(scratch).iterdir())
        for path in built:
            copy_if_changed(path, destination / path.name)
        return [destination / path.name for path in built]


def bundle_widgets(destination: Path) -> list[Path]:
    """The widget manager (manager.js and its manager.css) and the preview (preview.js)."""
    manager = esbuild(
        WIDGET_MANAGER,
        destination,
        f"--inject:{WIDGET_MANAGER.parent / 'anywidget-module.js'}",
        f"--alias:anywidget-front-end={ANYWIDGET_FRONT_END}",
        f"--alias:sanitize-html=./{PLAIN_TEXT.relative_to(ROOT)}",
    )
    return manager + esbuild(WIDGET_PREVIEW, destination)


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
    """Copy or build every asset into `TARGET`, removing what is no longer staged."""
    if not NODE_MODULES.is_dir():
        raise SystemExit("node_modules/ is missing: run `npm ci` (make book does)")
    check_katex_version()
    source = NODE_MODULES / KATEX
    staged = []
    for path in sorted(p for pattern in KATEX_FILES for p in source.glob(pattern)):
        staged.append(TARGET / "katex" / path.relative_to(source))
        copy_if_changed(path, staged[-1])
    staged += bundle_widgets(TARGET / "widgets")
    for leftover in set(TARGET.rglob("*")) - set(staged):
        if leftover.is_file():
            leftover.unlink()
    for folder in sorted(TARGET.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return staged


if __name__ == "__main__":
    print(f"staged {len(stage())} files in {TARGET.relative_to(ROOT)}", file=sys.stderr)
