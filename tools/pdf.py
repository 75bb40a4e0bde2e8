"""Print the built HTML book to one PDF, `_build/pdf/book.pdf` (`make pdf`).

Chromium prints each page of `_build/html`, opened from disk, as the reader sees it: formulas
typeset by KaTeX when the book was built, figures, code, and the slider explorer drawn from its
saved state, its canvas frozen into an image of its default settings. For print, the sidebars,
the header and the page navigation are hidden, code cells the book hides stay hidden, and the
dropdowns (solutions and answers) are opened. The pages are printed in `_toc.yml` order, except
that a page of solutions goes last, as the appendix; pypdf then joins them and builds one
outline, a bookmark per page with its sections under it. Every request that is not for a file
of the book is refused: nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools.book import ROOT, config, digest, display_path, toc_pages
from tools.env import CHROMIUM

HTML = ROOT / "_build" / "html"
OUTPUT = ROOT / "_build" / "pdf" / "book.pdf"
PUBLISHED_NAME = "book.pdf"  # the copy beside index.html that every page's download menu links
CHROMIUM_ARGS = "--no-sandbox --disable-gpu --disable-quic --no-first-run --disable-sync \
--disable-background-networking --disable-component-update".split()
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
  for (const canvas of document.querySelectorAll("canvas")) {
    const image = document.createElement("img");
    image.src = canvas.toDataURL("image/png");
    image.className = "printed-canvas";
    image.style.width = canvas.getBoundingClientRect().width + "px";
    await image.decode();
    canvas.replaceWith(image);
  }
}"""
# The visible headings' text, in document order: the titles of the page's bookmarks.
HEADINGS = """() => Array.from(document.querySelectorAll("h1, h2, h3, h4, h5, h6"))
  .filter((h) => h.getClientRects().length > 0)
  .map((h) => {
    const copy = h.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((link) => link.remove());
    return copy.textContent.replace(/\\s+/g, " ").trim();
  })"""
LIVE_WIDGET = ".widget-subarea:not(.widget-preview) .regression-explorer canvas"
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
    '<span class="title"></span> &middot; <span class="pageNumber"></span>'
    ' / <span class="totalPages"></span></div>'
)


class PdfError(RuntimeError):
    """The PDF cannot be made: no built book, no browser, or a page that did not render."""


@dataclass
class Chapter:
    """One page of the book: its built HTML, whether it is the appendix, and once printed, its
    PDF bytes and its visible headings (the titles of its bookmarks)."""

    html: Path
    appendix: bool
    data: bytes = b""
    headings: tuple[str, ...] = ()


def is_solutions_page(page: Path) -> bool:
    """Whether a page holds exercise solutions, which the PDF prints as its appendix."""
    return bool(SOLUTIONS.search(page.read_text()))


def chapters(html: Path = HTML) -> list[Chapter]:
    """The pages to print, in reading order, with pages of solutions moved to the end."""
    if not (html / "index.html").is_file():
        raise PdfError(f"html={display_path(html)} holds no built book: run `make book` first")
    found = []
    for page in toc_pages():
        built = html / page.relative_to(ROOT).with_suffix(".html")
        if not built.is_file():
            raise PdfError(f"{display_path(built)} is missing: run `make book` again")
        found.append(Chapter(built, is_solutions_page(page)))
    return sorted(found, key=lambda chapter: chapter.appendix)  # a stable sort


def print_chapters(book: list[Chapter], html: Path = HTML) -> None:
    """Print each chapter with headless Chromium, which may read the book's files only."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise PdfError(f"no Chromium at {CHROMIUM}: run `make env`, or set CHROMIUM")
    book_files = html.resolve().as_uri() + "/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        context.route(
            lambda url: not url.startswith((book_files, "data:", "blob:")),
            lambda route: route.abort(),
        )
        for chapter in book:
            page = context.new_page()
            page.goto(chapter.html.resolve().as_uri(), wait_until="networkidle")
            if page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
                page.wait_for_selector(LIVE_WIDGET, state="visible", timeout=TIMEOUT_MS)
            page.add_style_tag(content=PRINT_CSS)
            page.evaluate(PREPARE_PAGE)
            page.emulate_media(media="print")
            chapter.headings = tuple(page.evaluate(HEADINGS))
            chapter.data = page.pdf(
                format="A4",
                prefer_css_page_size=True,
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
                outline=True,
                tagged=True,
            )
            page.close()
        browser.close()


def _outline(items: list, depth: int = 0) -> list:
    """A nested pypdf outline as (item, depth) pairs, in document order."""
    flat = []
    for item in items:
        flat += _outline(item, depth + 1) if isinstance(item, list) else [(item, depth)]
    return flat


def join(book: list[Chapter], path: Path) -> int:
    """Join the printed chapters into one PDF with one outline; return its page count.

    Chromium bookmarks each heading but titles it from the heading's laid-out line fragments,
    which repeats text that wraps: the titles are taken from the page instead.
    """
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for chapter in book:
        reader = PdfReader(io.BytesIO(chapter.data))
        marks = _outline(reader.outline)
        if not marks or len(marks) != len(chapter.headings):
            raise PdfError(
                f"{display_path(chapter.html)}: Chromium bookmarked {len(marks)} headings, "
                f"the page shows {len(chapter.headings)}"
            )
        offset = len(writer.pages)
        writer.append(reader, import_outline=False)
        parents: list = [None]
        for (item, depth), title in zip(marks, chapter.headings, strict=True):
            del parents[depth + 1 :]
            item = writer.add_outline_item(
                title=("Appendix: " if chapter.appendix and depth == 0 else "") + title,
                page_number=reader.get_destination_page_number(item) + offset,
                parent=parents[min(depth, len(parents) - 1)],
            )
            parents.append(item)
    title = config().get("title", "")
    writer.add_metadata({"/Title": title, "/Creator": "tools/pdf.py (Chromium, pypdf)"})
    writer.page_mode = "/UseOutlines"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        writer.write(handle)
    return len(writer.pages)


def pages_digest(html: Path = HTML) -> str:
    """The sha256 of every built page: what the PDF is printed from."""
    return digest(sorted(html.rglob("*.html")))


def is_current(html: Path = HTML, output: Path = OUTPUT) -> bool:
    """Whether the PDF, and its copy beside the pages, were printed from the pages as built."""
    stamp = output.with_suffix(".inputs")
    copies = [output, html / PUBLISHED_NAME, stamp]
    return all(copy.is_file() for copy in copies) and stamp.read_text() == pages_digest(html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--html", type=Path, default=HTML, help="default: %(default)s")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: %(default)s")
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help="do nothing when the PDF was printed from the pages as built (make book uses this)",
    )
    args = parser.parse_args(argv)
    start, html, output = time.perf_counter(), args.html.resolve(), args.output.resolve()
    if args.if_changed and is_current(html, output):
        print(f"{display_path(output)} is up to date")
        return 0
    try:
        book = chapters(html)
        print_chapters(book, html)
        pages = join(book, output)
    except PdfError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    shutil.copy2(output, html / PUBLISHED_NAME)  # every page's download menu links this copy
    output.with_suffix(".inputs").write_text(pages_digest(html))
    print(
        f"wrote {display_path(output)}: {pages} pages, {output.stat().st_size / 1e6:.1f} MB, "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
