"""Small Sphinx fixes and additions for this book, loaded through `_config.yml`."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Keep one copy of each script tag.

    sphinx-thebe registers its inline configuration twice under Jupyter Book, and the second
    `const THEBE_JS_URL` declaration is a JavaScript error on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", attributes.get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx renders this very list


STUDIO_LAB = "https://studiolab.sagemaker.aws/import/github/"
COLAB_GITHUB = "/github/"


def add_studio_lab_button(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Add SageMaker Studio Lab to the launch menu, next to Colab.

    Studio Lab imports a notebook from the same GitHub path that Colab opens, so its link is
    derived from the Colab link the theme has just built for the page's `.ipynb`.
    """
    for button in context.get("header_buttons", []):
        if button.get("label") != "launch-buttons":
            continue
        entries = button.get("buttons", [])
        for entry in list(entries):
            url = entry.get("url", "")
            if entry.get("text") == "Colab" and COLAB_GITHUB in url:
                entries.append(
                    {
                        "type": "link",
                        "text": "Studio Lab",
                        "tooltip": "Launch on SageMaker Studio Lab",
                        "icon": "fas fa-flask",
                        "url": STUDIO_LAB + url.split(COLAB_GITHUB, 1)[1],
                        "label": "launch-studio-lab-button",
                    }
                )


def refresh_static_files(app: Sphinx, exception: Exception | None) -> None:
    """Copy changed static files even when no page is out of date.

    Sphinx copies `html_static_path` only while writing pages, so a rebuild after a change to
    the staged browser code alone would keep serving the old files.
    """
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static"
    for folder in app.config.html_static_path:
        source = Path(app.confdir) / folder
        for path in source.rglob("*") if source.is_dir() else []:
            copy = target / path.relative_to(source)
            if path.is_file() and not (copy.exists() and filecmp.cmp(path, copy, shallow=False)):
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)


def setup(app: Sphinx) -> dict[str, Any]:
    # Early, because Sphinx stops calling html-page-context handlers at the first result.
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    # After the theme's own launch buttons (priority 501).
    app.connect("html-page-context", add_studio_lab_button, priority=502)
    app.connect("build-finished", refresh_static_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
