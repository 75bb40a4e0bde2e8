"""Print the built HTML book to one PDF, `_build/pdf/book.pdf` (`make pdf`).

Chromium prints each page of `_build/html` as the reader sees it: formulas typeset by KaTeX
when the book was built, figures, code, and the slider explorer drawn from its saved state, whose
canvas is frozen into an image of its default settings. For print, the sidebars, the header
and the page navigation are hidden, code cells the book hides stay hidden, and the dropdowns
(solutions and answers) are opened. The pages are printed in `_toc.yml` order, except that a
page of solutions goes last, as the appendix; pypdf then joins them and builds one outline,
a bookmark per page with its sections under it. Nothing is fetched from the network: the
book is served from a loopback server and every other request is refused.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.book_notebooks import ROOT, display_path, toc_pages
from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, LIVE_EXPLORER, serve

HTML = ROOT / "_build" / "html"
OUTPUT = ROOT / "_build" / "pdf" / "book.pdf"
PUBLISHED_NAME = "book.pdf"  # the copy beside index.html that every page's download menu links
APPENDIX = "Appendix: "
SOLUTIONS = re.compile(r"^(```+|:::+)\{solution(?:-start)?\}", re.M)
TIMEOUT_MS = 60_000

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary,
.bd-footer, .bd-footer-article, .bd-footer-content, .prev-next-area, #pst-back-to-top,
.header-article-items, .toggle-button, .headerlink, #pst-skip-link, #jb-print-docs-body,
details.hide { display: none !important; }
/* the theme prints the title in a header of its own, with a contents list: the page's own
   title is printed instead, so that it is the page's first bookmark */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-main, .bd-content, .bd-article-container, .bd-container, .bd-page-width {
  max-width: none !important; width: 100% !important; margin: 0 !important;
  padding: 0 !important; }
.toggle-hidden { display: block !important; visibility: visible !important;
  opacity: 1 !important; height: auto !important; }
.cell_output img, figure img, .printed-canvas { max-width: 100% !important;
  break-inside: avoid; }
figure, .cell, .admonition { break-inside: avoid-page; }
h1, h2, h3 { break-after: avoid; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
"""

# Opens every dropdown, waits for the fonts, then swaps each canvas for an image of itself.
PREPARE_PAGE = """async () => {
  document.querySelectorAll("details:not(.hide)").forEach((d) => { d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach((e) => e.classList.remove("toggle-hidden"));
  await document.fonts.ready;
  let frozen = 0;
  for (const canvas of document.querySelectorAll("canvas")) {
    const image = document.createElement("img");
    image.src = canvas.toDataURL("image/png");
    image.className = "printed-canvas";
    image.style.width = canvas.getBoundingClientRect().width + "px";
    await image.decode();
    canvas.replaceWith(image);
    frozen += 1;
  }
  return frozen;
}"""

# The visible headings' text, in document order: the titles of the page's bookmarks.
HEADINGS = """() => Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"))
  .filter((h) => h.getClientRects().length > 0)
  .map((h) => {
    const copy = h.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim();
  })"""

FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
    '<span class="title"></span> &middot; <span class="pageNumber"></span>'
    ' / <span class="totalPages"></span></div>'
)


class PdfError(RuntimeError):
    """The PDF cannot be made: no built book, no browser, or a page that did not render."""


@dataclass(frozen=True)
class Chapter:
    """One page of the book as printed: its built HTML file and its bookmark title."""

    source: Path
    html: Path
    appendix: bool


def is_solutions_page(page: Path) -> bool:
    """Whether a page holds exercise solutions, which the PDF prints as its appendix."""
    return bool(SOLUTIONS.search(page.read_text()))


def chapters(html: Path = HTML, pages: list[Path] | None = None) -> list[Chapter]:
    """The pages to print, in reading order, with pages of solutions moved to the end."""
    pages = pages if pages is not None else toc_pages()
    if not (html / "index.html").is_file():
        raise PdfError(f"html={display_path(html)} holds no built book: run `make book` first")
    found = []
    for page in pages:
        built = html / page.relative_to(ROOT).with_suffix(".html")
        if not built.is_file():
            raise PdfError(f"{display_path(built)} is missing: run `make book` again")
        found.append(Chapter(page, built, is_solutions_page(page)))
    return [c for c in found if not c.appendix] + [c for c in found if c.appendix]


def _launch_browser(playwright):  # noqa: ANN001, ANN202
    if not Path(CHROMIUM).exists():
        raise PdfError(f"no Chromium at {CHROMIUM}: run `make browser`, or set CHROMIUM")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def print_page(page, url: str) -> tuple[bytes, list[str]]:  # noqa: ANN001
    """One built page as PDF bytes, once its formulas, figures and widgets have rendered,
    and the text of its visible headings, in order."""
    page.goto(url, wait_until="networkidle", timeout=TIMEOUT_MS)
    if page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
        page.wait_for_selector(f"{LIVE_EXPLORER} canvas", state="visible", timeout=TIMEOUT_MS)
    page.add_style_tag(content=PRINT_CSS)
    page.evaluate(PREPARE_PAGE)
    page.emulate_media(media="print")
    headings = page.evaluate(HEADINGS)
    data = page.pdf(
        format="A4",
        print_background=True,
        prefer_css_page_size=True,
        display_header_footer=True,
        header_template="<span></span>",
        footer_template=FOOTER,
        outline=True,
        tagged=True,
    )
    return data, headings


@dataclass(frozen=True)
class Printed:
    """A chapter as Chromium printed it, with its headings' text for the bookmarks."""

    chapter: Chapter
    data: bytes
    headings: list[str]


def print_chapters(book: list[Chapter], html: Path = HTML) -> Iterator[Printed]:
    """Each chapter printed by headless Chromium, which may reach the book's server only."""
    from playwright.sync_api import sync_playwright

    with serve(html) as base, sync_playwright() as playwright:
        browser = _launch_browser(playwright)
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        context.route(
            re.compile(r"^(?!" + re.escape(base) + r"|data:|blob:).*"),
            lambda route: route.abort(),
        )
        try:
            for chapter in book:
                page = context.new_page()
                relative = chapter.html.relative_to(html).as_posix()
                yield Printed(chapter, *print_page(page, f"{base}/{relative}"))
                page.close()
        finally:
            browser.close()


def _flatten(items: list) -> list:
    """A nested pypdf outline as (item, depth) pairs, in document order."""
    flat, depth, stack = [], 0, [iter(items)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            depth -= 1
        elif isinstance(item, list):
            stack.append(iter(item))
            depth += 1
        else:
            flat.append((item, depth))
    return flat


def _bookmarks(printed: Printed, reader) -> list[tuple[str, int, int]]:  # noqa: ANN001
    """(title, page index, depth) of each heading Chromium bookmarked in one chapter.

    Chromium writes a bookmark per heading but titles it from the heading's laid-out line
    fragments, which repeats text that wraps; the titles are taken from the page instead.
    """
    flat = _flatten(reader.outline)
    if not flat or len(flat) != len(printed.headings):
        raise PdfError(
            f"{display_path(printed.chapter.html)}: Chromium bookmarked {len(flat)} headings, "
            f"the page shows {len(printed.headings)}"
        )
    marks = []
    for (item, depth), title in zip(flat, printed.headings, strict=True):
        if printed.chapter.appendix and depth == 0:
            title = APPENDIX + title
        marks.append((title, reader.get_destination_page_number(item), depth))
    return marks


def join(printed: list[Printed], path: Path) -> int:
    """Join the printed chapters into one PDF with one outline; return its page count."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for chapter in printed:
        reader = PdfReader(io.BytesIO(chapter.data))
        offset = len(writer.pages)
        writer.append(reader, import_outline=False)
        parents: list = [None]
        for title, number, depth in _bookmarks(chapter, reader):
            del parents[depth + 1 :]
            parent = parents[min(depth, len(parents) - 1)]
            item = writer.add_outline_item(title=title, page_number=number + offset, parent=parent)
            parents.append(item)
    writer.add_metadata({"/Title": _book_title(), "/Creator": "tools/pdf.py (Chromium, pypdf)"})
    writer.page_mode = "/UseOutlines"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer.write(handle)
    return len(writer.pages)


def _book_title() -> str:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text()).get("title", "")


def build(html: Path = HTML, output: Path = OUTPUT, publish: bool = True) -> int:
    """Print the built book in `html` to `output`; return its number of pages.

    With `publish`, a copy goes beside the book's pages, `html/book.pdf`: the download menu
    of every page links to it, so the PDF travels with the HTML book.
    """
    book = chapters(html)
    pages = join(list(print_chapters(book, html)), output)
    if publish:
        shutil.copy2(output, html / PUBLISHED_NAME)
    return pages


def is_current(html: Path = HTML, output: Path = OUTPUT) -> bool:
    """Whether the PDF and its copy beside the pages are newer than every built page."""
    copies = [output, html / PUBLISHED_NAME]
    if not all(copy.is_file() for copy in copies):
        return False
    printed = min(copy.stat().st_mtime for copy in copies)
    return all(page.stat().st_mtime <= printed for page in html.rglob("*.html"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--html", type=Path, default=HTML, help="the built book (default: %(default)s)"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: %(default)s")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help="do nothing when the PDF is newer than every built page (make book uses this)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.if_changed and is_current(args.html.resolve(), args.output.resolve()):
        print(f"{display_path(args.output.resolve())} is up to date")
        return 0
    try:
        pages = build(args.html.resolve(), args.output.resolve())
    except PdfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    size = args.output.stat().st_size / 1e6
    print(
        f"wrote {display_path(args.output.resolve())}: {pages} pages, {size:.1f} MB, "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
