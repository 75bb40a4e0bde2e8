"""The committed exports (`notebooks/`) are what the exporter makes from Sphinx's environment of
the session's book build, byte for byte, and every link of theirs reaches the built book."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import export


@pytest.fixture(scope="module")
def book(built_book: Path) -> export.Book:
    """The exporter's index of the environment the build pickled (`_build/.doctrees`)."""
    return export.book_index(export.load_environment(built_book.parent / ".doctrees"))


def test_the_committed_exports_are_what_the_built_book_makes(book):
    made = export.export_all(book)
    assert sorted(made) == sorted(export.EXPORT_DIR.glob("*.ipynb")), "run `make notebooks`"
    assert [path.name for path, text in made.items() if path.read_bytes() != text.encode()] == []


def test_every_book_link_reaches_a_page_and_anchor_of_the_built_book(book, built_book):
    text = "\n".join(path.read_text() for path in export.EXPORT_DIR.glob("*.ipynb"))
    links = re.findall(rf"\]\({re.escape(book.base_url)}([^)\s]+)\)", text)
    broken = []
    for page, _, anchor in (link.partition("#") for link in links):
        html = built_book / page
        if not html.exists() or (anchor and f'id="{anchor}"' not in html.read_text()):
            broken.append(f"{page}#{anchor}")
    assert len(links) >= 10 and broken == []
