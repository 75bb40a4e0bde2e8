"""The PDF of the book (`make pdf`): its outline, its text, its formulas and its figures."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import jupytext
import pytest
from markdown_it import MarkdownIt

from tools import pdf
from tools.book import is_notebook, toc_pages
from tools.execute import source_cells

pypdf = pytest.importorskip("pypdf")
PRINTED = sorted(toc_pages(), key=pdf.is_solutions_page)  # the solutions last, as the appendix
# Sentences of the book's code and answers; the last two are printed only if their dropdowns
# were opened. Each page's first sentence of prose is checked as well.
KNOWN_TEXT = [
    "The loader earns its place when the examples do not sit in memory",
    "class SyntheticRegressionData(d2l.DataModule)",
    "Never drop it for validation",
    "They grow ten-fold too.",
]


@pytest.fixture(scope="module")
def reader(built_book: Path):
    """The book as `make book` prints it (the `built_book` fixture does the same)."""
    assert pdf.is_current(built_book, pdf.OUTPUT)
    return pypdf.PdfReader(pdf.OUTPUT)


def normal(text: str) -> str:
    """Text with ligatures unfolded and all whitespace runs made single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def markdown(page: Path) -> str:
    return "\n\n".join(c.source for c in jupytext.read(page).cells if c.cell_type == "markdown")


def headings(page: Path) -> list[str]:
    tokens = MarkdownIt().parse(markdown(page))
    return [tokens[k + 1].content for k, token in enumerate(tokens) if token.type == "heading_open"]


def outline(reader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every bookmark, in order."""
    pairs = pdf._outline(reader.outline)
    return [(d, item.title, reader.get_destination_page_number(item)) for item, d in pairs]


def test_a_bookmark_per_page_and_section_with_the_solutions_as_appendix(reader):
    titles = [("Appendix: " if pdf.is_solutions_page(p) else "") + headings(p)[0] for p in PRINTED]
    assert [title for depth, title, _ in outline(reader) if depth == 0] == titles
    assert titles[-1].startswith("Appendix: ")
    sections = [normal(title.replace("`", "")) for page in PRINTED for title in headings(page)[1:]]
    assert [title for depth, title, _ in outline(reader) if depth > 0] == sections


def first_sentence(page: Path) -> str | None:
    """The first sentence of a page's prose that has no markup in it, as its source has it."""
    for paragraph in markdown(page).split("\n\n"):
        sentence = normal(paragraph).split(". ")[0]
        if sentence[:1].isalpha() and not re.search(r"[`*_\[\]{}$<>|]", sentence):
            return sentence
    return None


def test_the_text_is_extractable_with_known_sentences_and_typeset_formulas(reader):
    raw = " ".join(page.extract_text() for page in reader.pages)
    known = KNOWN_TEXT + [sentence for page in PRINTED if (sentence := first_sentence(page))]
    assert [sentence for sentence in known if sentence not in normal(raw)] == []
    assert "$$" not in raw and not re.search(r"\\(mathbf|sigma|hat|sqrt)\b", raw)
    assert "ϵ" in raw or "ε" in raw  # the noise term of y = Xw + b + ϵ, typeset by KaTeX


def images(reader, pages: range) -> int:
    """The distinct image XObjects drawn on the given pages."""
    seen = set()
    for number in pages:
        resources = reader.pages[number].get("/Resources") or {}
        for ref in (resources.get("/XObject") or {}).values():
            if ref.get_object().get("/Subtype") == "/Image":
                seen.add(ref.idnum)
    return len(seen)


def figures(page: Path) -> int:
    """Figures a page's source declares for the PDF's framework, PyTorch: captioned code
    cells, figure directives, images."""
    notebook = source_cells(page) if is_notebook(page) else jupytext.read(page)
    captioned = sum(bool(cell.metadata.get("mystnb", {}).get("figure")) for cell in notebook.cells)
    return captioned + len(re.findall(r"^```+\{figure\}|!\[[^\]]*\]\(", markdown(page), re.M))


def test_every_figure_and_the_explorer_are_images(reader):
    starts = [start for depth, _, start in outline(reader) if depth == 0]
    for page, start, end in zip(PRINTED, starts, [*starts[1:], len(reader.pages)], strict=True):
        ipynb = page.with_suffix(".ipynb")  # the explorer's widget prints as one image
        widget = ipynb.exists() and "application/vnd.jupyter.widget-view+json" in ipynb.read_text()
        assert images(reader, range(start, end)) >= figures(page) + widget, page.name
    total = sum(map(figures, PRINTED))
    assert total >= 5 and images(reader, range(len(reader.pages))) >= total
