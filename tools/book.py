"""The book as the tools see it: its root, configuration and pages, the one rule of "is it up to
date?" (a digest of the inputs) and the one way derived files are written. Standard library only
at import: tools/env.py uses it before any environment exists.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "d2lsave"


def write_if_changed(path: Path, text: str) -> bool:
    """Write a derived file atomically and only if its text changes; whether it wrote."""
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
    """A path as messages show it: relative to the repository if inside."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def toc_pages() -> list[Path]:
    """Every page of the book (`_toc.yml`, as Jupyter Book reads it) in reading order."""
    from sphinx_external_toc.parsing import parse_toc_yaml

    return [(ROOT / name).with_suffix(".md") for name in parse_toc_yaml(ROOT / "_toc.yml")]


def is_notebook(page: Path) -> bool:
    """Whether a MyST page carries a jupytext header, i.e. is a notebook with code."""
    text = page.read_text()
    return text.startswith("---") and "jupytext:" in text.split("\n---", 1)[0]


def toc_notebooks() -> list[Path]:
    return [page for page in toc_pages() if is_notebook(page)]


def digest(paths: list[Path]) -> str:
    """A sha256 over the names and bytes of `paths`: what a derived thing stores of its inputs,
    to be made again when it differs."""
    total = hashlib.sha256()
    for path in paths:
        total.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return total.hexdigest()


def package_digest(root: Path = ROOT) -> str:
    """The digest of `d2lsave`'s code: a page that imports it is executed again when it changes."""
    package = root / PACKAGE
    return digest(sorted([*package.glob("*.py"), *package.glob("*.js")]))
