"""Small Sphinx fixes and additions for this book, loaded through `_config.yml`."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                           doctree: Any) -> None:
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


def setup(app: Sphinx) -> dict[str, Any]:
    # Early, because Sphinx stops calling html-page-context handlers at the first result.
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
