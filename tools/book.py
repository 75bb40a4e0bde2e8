"""The book as the tools see it: its root, configuration and pages in reading order, the one
rule of "is it up to date?" (a digest of the inputs) and the one way derived files are written.
Standard library only at import: tools/env.py uses it before any environment exists.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "d2lsave"


def write_if_changed(path: Path, text: str) -> bool:
    """Write a derived file atomically and only if its text changes, so that regenerating twice
    leaves the second time untouched; whether it wrote."""
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
    import yaml  # not at the top: tools/env.py imports this module before yaml is installed

    return yaml.safe_load((ROOT / "_config.yml").read_text())


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the repository if inside."""
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def toc_pages() -> list[Path]:
    """Every page of the book (`_toc.yml`) as a source path, in reading order."""
    import yaml

    def files(entry: dict) -> Iterator[str]:
        if "file" in entry:
            yield entry["file"]
        for key in ("parts", "chapters", "sections"):
            for child in entry.get(key, []):
                yield from files(child)

    tree = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [(ROOT / name).with_suffix(".md") for name in [tree["root"], *files(tree)]]


def is_notebook(page: Path) -> bool:
    """Whether a MyST page carries a jupytext header, i.e. is a notebook with code."""
    text = page.read_text()
    return text.startswith("---") and "jupytext:" in text.split("\n---", 1)[0]


def toc_notebooks() -> list[Path]:
    """The pages that are notebooks, in reading order."""
    return [page for page in toc_pages() if is_notebook(page)]


def digest(paths: list[Path]) -> str:
    """A sha256 over the names and bytes of `paths`: a derived thing (an executed notebook, an
    environment, the PDF) stores the digest of its inputs and is made again when it differs."""
    total = hashlib.sha256()
    for path in paths:
        total.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return total.hexdigest()


def package_digest(root: Path = ROOT) -> str:
    """The digest of the generated package's code: a page that imports it must be executed
    again when it changes, even though its own cells did not."""
    package = root / PACKAGE
    return digest(sorted([*package.glob("*.py"), *package.glob("*.js")]))
