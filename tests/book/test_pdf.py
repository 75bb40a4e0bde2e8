"""The PDF of the book (`make pdf`): its outline, its text, its formulas and its figures."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import jupytext
import pytest

from tests.conftest import ROOT
from tools import pdf
from tools.book import is_notebook, toc_pages
from tools.execute import source_cells

pypdf = pytest.importorskip("pypdf")

pytestmark = pytest.mark.build

# Sentences of the book's code and answers; the solution and the answer are printed only if
# their dropdowns were opened. Each page's first sentence of prose is checked as well.
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


def _normal(text: str) -> str:
    """Text with ligatures unfolded and all whitespace runs made single spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _markdown(page: Path) -> list[str]:
    return [c.source for c in jupytext.read(page).cells if c.cell_type == "markdown"]


def _headings(page: Path) -> list[tuple[int, str]]:
    """(level, title) of each Markdown heading of a page's source, in order."""
    found = []
    for source in _markdown(page):
        in_fence = False
        for line in source.splitlines():
            if line.startswith(("```", "~~~", ":::")):
                in_fence = not in_fence
            elif not in_fence and (match := re.match(r"^(#{1,6})\s+(.+?)\s*$", line)):
                found.append((len(match[1]), match[2]))
    return found


def _outline(reader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) of every bookmark, in order."""
    return [
        (depth, item.title, reader.get_destination_page_number(item))
        for item, depth in pdf._outline(reader.outline)
    ]


def _printed_order() -> list[Path]:
    return sorted(toc_pages(), key=pdf.is_solutions_page)  # the solutions last, as the appendix


def test_a_bookmark_per_page_in_reading_order_with_the_solutions_as_appendix(reader):
    expected = [
        ("Appendix: " if pdf.is_solutions_page(page) else "") + _headings(page)[0][1]
        for page in _printed_order()
    ]
    assert [title for depth, title, _ in _outline(reader) if depth == 0] == expected
    assert expected[-1].startswith("Appendix: ")


def test_a_bookmark_per_section(reader):
    sections = [title for page in _printed_order() for level, title in _headings(page)[1:]]
    bookmarks = [title for depth, title, _ in _outline(reader) if depth > 0]
    assert bookmarks == [_normal(title.replace("`", "")) for title in sections]


def _first_sentence(page: Path) -> str | None:
    """The first sentence of a page's prose that has no markup in it, as its source has it."""
    for source in _markdown(page):
        for paragraph in source.split("\n\n"):
            sentence = _normal(paragraph).split(". ")[0]
            if sentence[:1].isalpha() and not re.search(r"[`*_\[\]{}$<>|]", sentence):
                return sentence
    return None


def test_the_text_is_extractable_and_has_known_sentences(reader):
    text = _normal(" ".join(page.extract_text() for page in reader.pages))
    firsts = [_first_sentence(page) for page in toc_pages()]
    known = KNOWN_TEXT + [sentence for sentence in firsts if sentence]
    assert [sentence for sentence in known if sentence not in text] == []


def test_formulas_are_typeset_not_left_as_tex(reader):
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "$$" not in text and not re.search(r"\\(mathbf|sigma|hat|sqrt)\b", text)
    assert "ϵ" in text or "ε" in text  # the noise term of y = Xw + b + ϵ, typeset by KaTeX


def _images(reader, pages: range) -> int:
    """The distinct image XObjects drawn on the given pages."""
    seen = set()
    for number in pages:
        resources = reader.pages[number].get("/Resources") or {}
        for ref in (resources.get("/XObject") or {}).values():
            if ref.get_object().get("/Subtype") == "/Image":
                seen.add(ref.idnum)
    return len(seen)


def _figures(page: Path) -> int:
    """Figures a page's source declares for the PDF's framework, PyTorch: captioned code
    cells, figure directives, images."""
    notebook = source_cells(page) if is_notebook(page) else jupytext.read(page)
    captioned = sum(bool(cell.metadata.get("mystnb", {}).get("figure")) for cell in notebook.cells)
    markdown = "\n".join(_markdown(page))
    return captioned + len(re.findall(r"^```+\{figure\}|!\[[^\]]*\]\(", markdown, re.M))


def _has_widget(page: Path) -> bool:
    """Whether a page's stored outputs show a widget (the explorer), printed as an image."""
    ipynb = page.with_suffix(".ipynb")
    return ipynb.exists() and "application/vnd.jupyter.widget-view+json" in ipynb.read_text()


def test_every_figure_and_the_explorer_are_images(reader):
    outline = [(title, start) for depth, title, start in _outline(reader) if depth == 0]
    ends = [start for _, start in outline[1:]] + [len(reader.pages)]
    total_figures = 0
    for page, (title, start), end in zip(_printed_order(), outline, ends, strict=True):
        wanted = _figures(page) + _has_widget(page)  # the explorer prints as one image
        total_figures += _figures(page)
        assert _images(reader, range(start, end)) >= wanted, title
    assert total_figures >= 5
    assert _images(reader, range(len(reader.pages))) >= total_figures


def test_every_page_links_to_the_pdf(built_book):
    pages = [built_book / p.relative_to(ROOT).with_suffix(".html") for p in toc_pages()]
    missing = [
        page.name for page in pages if not re.search(r'href="(\.\./)*book\.pdf"', page.read_text())
    ]
    assert missing == []


def test_without_a_built_book_the_error_names_the_folder(tmp_path):
    with pytest.raises(pdf.PdfError, match=r"html=.* holds no built book: run `make book`"):
        pdf.chapters(tmp_path)
