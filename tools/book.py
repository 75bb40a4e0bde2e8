"""The book as the tools see it: its root, its configuration, its pages in reading order, and
the one rule of "is it up to date?" (a digest of the inputs) with the one way derived files are
written (atomically, only when they change). Standard library only at import: tools/env.py
uses it before any environment exists.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOC = ROOT / "_toc.yml"
PACKAGE = "d2lsave"
IMPORTS_PACKAGE = re.compile(
    rf"^\s*(?:from\s+{PACKAGE}(?:\.\w+)*\s+import|import\s+{PACKAGE}\b)", re.M
)


def write_if_changed(path: Path, text: str) -> bool:
    """Write a derived file atomically (no reader sees half of it), and only if its text
    changes, so that regenerating twice leaves the second time untouched; whether it did."""
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)
    return True


@functools.cache
def config() -> dict:
    """The book's `_config.yml`, read once."""
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text())


def display_path(path: Path) -> str:
    """A path as messages and generated headers show it: relative to the repository if inside."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def _toc_files(entry: dict) -> Iterator[str]:
    """Walk one `_toc.yml` node depth first, yielding its `file:` entries in reading order."""
    if "file" in entry:
        yield entry["file"]
    for key in ("parts", "chapters", "sections"):
        for child in entry.get(key, []):
            yield from _toc_files(child)


def toc_pages(toc: Path = TOC) -> list[Path]:
    """Every page of the book as a source path, in reading order."""
    import yaml  # not at the top: tools/env.py runs this module before yaml is installed

    tree = yaml.safe_load(toc.read_text())
    files = [tree["root"], *_toc_files(tree)]
    return [(toc.parent / name).with_suffix(".md") for name in files]


def is_notebook(page: Path) -> bool:
    """Whether a MyST page carries a jupytext header, i.e. is a notebook with code."""
    text = page.read_text()
    return text.startswith("---") and "jupytext:" in text.split("\n---", 1)[0]


def toc_notebooks(toc: Path = TOC) -> list[Path]:
    """The pages that are notebooks, in reading order."""
    return [page for page in toc_pages(toc) if is_notebook(page)]


def digest(paths: list[Path]) -> str:
    """A sha256 over the names and bytes of `paths`: what a derived thing was made from.

    The book's one rule of "is it up to date?": a derived thing (an executed notebook, an
    environment, the PDF) stores the digest of its inputs, and is made again when it differs.
    """
    total = hashlib.sha256()
    for path in paths:
        total.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return total.hexdigest()


def package_digest(root: Path = ROOT) -> str:
    """The digest of the generated package (its Python and front-end modules): a page that
    imports it must be executed again when this changes, even though its own cells did not."""
    package = root / PACKAGE
    return digest(sorted([*package.glob("*.py"), *package.glob("*.js")]))
