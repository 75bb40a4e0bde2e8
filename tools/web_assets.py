"""Stage the browser code the book serves itself (run by `make book` after `npm ci`).

A Jupyter Book page would load its formulas' styles and the Jupyter widget manager from CDNs,
so that formulas and widgets are blank offline. The versions pinned in `package-lock.json` are
installed from the npm registry into `node_modules/`; this script puts what a page needs into
`_build/web_assets/`, which `_config.yml` adds to the HTML static files:

- KaTeX's stylesheet and fonts. The formulas themselves are typeset when the book is built
  (sphinxcontrib-katex, with the same KaTeX), so a page runs no script for them.
- The widget manager of the pages with widgets, and the preview that draws their plots before
  it has loaded, bundled and minified by esbuild from
  `book/_widgets/manager.js`: ipywidgets 8's controls and the anywidget front end of the
  pinned anywidget wheel.

Nothing built is kept in the repository.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import anywidget

from tools.book import ROOT

NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "_build" / "web_assets"

# destination folder (under _static/) -> (source folder under node_modules, glob patterns).
# KaTeX's stylesheet lists woff2 first, which every browser the book supports reads.
ASSETS: dict[str, tuple[str, list[str]]] = {
    "katex": ("katex/dist", ["katex.min.css", "fonts/*.woff2"]),
}

# sphinxcontrib-katex typesets the formulas with the KaTeX inside its wheel; the stylesheet
# and fonts must be that version's.
KATEX_PACKAGE = NODE_MODULES / "katex" / "package.json"

WIDGET_MANAGER = ROOT / "book" / "_widgets" / "manager.js"
# draws a page's anywidgets from their stored state before the manager has loaded
WIDGET_PREVIEW = WIDGET_MANAGER.parent / "preview.js"
# anywidget's front end ships inside the pinned anywidget wheel from PyPI, as an AMD module;
# book/_widgets/anywidget-module.js hands it the bundled @jupyter-widgets/base.
ANYWIDGET_FRONT_END = Path(anywidget.__file__).parent / "nbextension" / "index.js"
# what the bundle uses instead of sanitize-html (see the file)
PLAIN_TEXT = WIDGET_MANAGER.parent / "plain-text-descriptions.js"
ESBUILD = NODE_MODULES / ".bin" / "esbuild"


def copy_if_changed(source: Path, target: Path) -> bool:
    """Copy `source` to `target` unless the target already holds the same bytes.

    Contents decide, not modification times: npm unpacks every file with the same fixed
    timestamp (in 1985), so after a package upgrade the new file is no newer than the stale
    copy. Returns whether it copied.
    """
    if target.is_file() and filecmp.cmp(source, target, shallow=False):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
    return True


def esbuild(entry: Path, destination: Path, *options: str) -> list[Path]:
    """Bundle and minify `entry` into `destination` with esbuild; return the files written."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            str(ESBUILD),
            str(entry),
            "--bundle",
            "--minify",
            "--format=iife",
            "--target=es2020",
            "--legal-comments=eof",
            f"--outdir={scratch}",
            "--log-level=warning",
            *options,
        ]
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
    """Copy or build every asset into the staging folder; return every staged file."""
    if not NODE_MODULES.is_dir():
        raise SystemExit("node_modules/ is missing: run `npm ci` (make book does)")
    check_katex_version()
    staged = []
    for destination, (source, patterns) in ASSETS.items():
        source_dir = NODE_MODULES / source
        for pattern in patterns:
            for path in sorted(source_dir.glob(pattern)):
                if path.is_file():
                    target = TARGET / destination / path.relative_to(source_dir)
                    copy_if_changed(path, target)
                    staged.append(target)
    staged += bundle_widgets(TARGET / "widgets")
    # a file that an upgraded package no longer ships must not linger in the book
    for leftover in set(TARGET.rglob("*")) - set(staged):
        if leftover.is_file():
            leftover.unlink()
    for folder in sorted(TARGET.rglob("*"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return staged


if __name__ == "__main__":
    files = stage()
    print(f"staged {len(files)} files in {TARGET.relative_to(ROOT)}", file=sys.stderr)
