"""Stage the browser code the book serves itself (run by `make book` after `npm ci`).

By default a Jupyter Book page loads MathJax, RequireJS and the Jupyter widget manager from
CDNs, so formulas and widgets are blank offline. The versions pinned in `package-lock.json` are
installed from the npm registry into `node_modules/`; this script copies the files a page
needs into `_build/web_assets/`, which `_config.yml` adds to the HTML static files. Nothing
minified is kept in the repository.
"""

from __future__ import annotations

import filecmp
import shutil
import sys
from pathlib import Path

import anywidget

from tools.book_notebooks import ROOT

NODE_MODULES = ROOT / "node_modules"
TARGET = ROOT / "_build" / "web_assets"

# destination folder (under _static/) -> (source folder under node_modules, glob patterns)
MANAGER = "@jupyter-widgets/html-manager/dist"
ASSETS: dict[str, tuple[str, list[str]]] = {
    "mathjax": ("mathjax/es5", ["**/*"]),
    "widgets": (MANAGER, ["embed-amd.js"]),
    # the manager's icon fonts, where its stylesheet looks for them (see REQUIRE_CONFIG)
    f"widgets/npm/{MANAGER}": (MANAGER, ["*.woff*", "*.ttf", "*.eot", "*.svg"]),
    "widgets/require": ("requirejs", ["require.js"]),
}


# The anywidget front end ships inside the pinned anywidget wheel from PyPI, as an AMD module.
ANYWIDGET_FRONT_END = Path(anywidget.__file__).parent / "nbextension" / "index.js"

# Loaded between require.js and the widget manager: where RequireJS finds the anywidget module
# and the manager its fonts, relative to the page (Sphinx puts the path to the book root on
# <html data-content_root>).
REQUIRE_CONFIG = """(function () {
  const widgets = document.documentElement.dataset.content_root + "_static/widgets/";
  require.config({paths: {
    anywidget: widgets + "anywidget/index",
    // the widget manager locates its fonts relative to its own module ids
    "@jupyter-widgets": widgets + "npm/@jupyter-widgets",
  }});
  window.__jupyter_widgets_assets_path__ = widgets + "npm/@jupyter-widgets/html-manager/dist/";
  // The widget manager typesets labels through MathJax 2's MathJax.Hub.Queue; the book loads
  // MathJax 3, which has no Hub. Route those calls to MathJax 3 once it has started.
  document.addEventListener("DOMContentLoaded", () => {
    const mathjax = window.MathJax;
    if (mathjax && !mathjax.Hub) {
      mathjax.Hub = {Queue: (command) => {
        const element = Array.isArray(command) ? command[2] : undefined;
        if (element && mathjax.typesetPromise) mathjax.typesetPromise([element]).catch(() => {});
      }};
    }
  });
})();
"""


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


def stage() -> list[Path]:
    """Copy every asset into the staging folder; return every staged file."""
    if not NODE_MODULES.is_dir():
        raise SystemExit("node_modules/ is missing: run `npm ci` (make book does)")
    copied = []
    for destination, (source, patterns) in ASSETS.items():
        source_dir = NODE_MODULES / source
        for pattern in patterns:
            for path in sorted(source_dir.glob(pattern)):
                if path.is_file():
                    target = TARGET / destination / path.relative_to(source_dir)
                    copy_if_changed(path, target)
                    copied.append(target)
    front_end = TARGET / "widgets" / "anywidget" / "index.js"
    copy_if_changed(ANYWIDGET_FRONT_END, front_end)
    config = TARGET / "widgets" / "require-config.js"
    if not config.exists() or config.read_text() != REQUIRE_CONFIG:
        config.write_text(REQUIRE_CONFIG)
    staged = [*copied, front_end, config]
    # a file that an upgraded package no longer ships must not linger in the book
    for leftover in set(TARGET.rglob("*")) - set(staged):
        if leftover.is_file():
            leftover.unlink()
    return staged


if __name__ == "__main__":
    files = stage()
    print(f"staged {len(files)} files in {TARGET.relative_to(ROOT)}", file=sys.stderr)
