"""Print the built HTML book to one PDF, `_build/pdf/book.pdf` (`make pdf`): each page as
Chromium shows it from disk, offline, dropdowns open, the solutions last as the appendix, under
one outline. Without a built book or Chromium it stops, saying what to run."""

from __future__ import annotations

import argparse
import io
import re
import shutil
import sys
import time
from pathlib import Path

from tools.book import ROOT, config, digest, display_path, toc_pages
from tools.explorer_page import CHROMIUM, CHROMIUM_ARGS, HTML, goto, watch

OUTPUT = ROOT / "_build" / "pdf" / "book.pdf"
PUBLISHED_NAME = "book.pdf"  # the copy beside index.html that every page's download menu links
SOLUTIONS = re.compile(r"^(```+|:::+)\{solution(?:-start)?\}", re.M)

PRINT_CSS = """@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
.bd-header, .bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer,
.bd-footer-article, .bd-footer-content, .prev-next-area, #pst-back-to-top, .header-article-items,
.toggle-button, .headerlink, #pst-skip-link, #jb-print-docs-body, details.hide {
  display: none !important; }
/* the page's own title, not the theme's print header, is its first bookmark */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-main, .bd-content, .bd-article-container, .bd-container, .bd-page-width {
  max-width: none !important; width: 100% !important; margin: 0 !important; padding: 0 !important; }
.toggle-hidden { display: block !important; visibility: visible !important; opacity: 1 !important;
  height: auto !important; }
.cell_output img, figure img, .printed-canvas { max-width: 100% !important; break-inside: avoid; }
figure, .cell, .admonition { break-inside: avoid-page; }
h1, h2, h3 { break-after: avoid; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }"""
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
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
    '<span class="title"></span> &middot; <span class="pageNumber"></span>'
    ' / <span class="totalPages"></span></div>'
)


def is_solutions_page(page: Path) -> bool:
    """Whether a page holds exercise solutions: the PDF's appendix."""
    return bool(SOLUTIONS.search(page.read_text()))


def chapters(html: Path = HTML) -> list[tuple[Path, bool]]:
    """The built pages in reading order, the appendix last, each with whether it is that."""
    if not (html / "index.html").is_file():
        raise SystemExit(f"html={display_path(html)} holds no built book: run `make book` first")
    found = []
    for page in toc_pages():
        built = html / page.relative_to(ROOT).with_suffix(".html")
        if not built.is_file():
            raise SystemExit(f"{display_path(built)} is missing: run `make book` again")
        found.append((built, is_solutions_page(page)))
    return sorted(found, key=lambda chapter: chapter[1])  # a stable sort


def _outline(items: list, depth: int = 0) -> list:
    """A nested pypdf outline as (item, depth) pairs, in document order."""
    flat = []
    for item in items:
        flat += _outline(item, depth + 1) if isinstance(item, list) else [(item, depth)]
    return flat


def print_book(html: Path, output: Path) -> int:
    """Print each chapter with Chromium, which may read the book's files only, into one PDF;
    its page count. Bookmarks take the visible headings' text: Chromium repeats wrapped lines."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no Chromium at {CHROMIUM}: run `make env`, or set CHROMIUM")
    book, writer = chapters(html), PdfWriter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 1400})
        watch(context, allowed=(html.resolve().as_uri() + "/", "data:", "blob:"))
        for built, appendix in book:
            page = goto(context.new_page(), built.resolve().as_uri(), "networkidle")
            page.add_style_tag(content=PRINT_CSS)
            page.evaluate(PREPARE_PAGE)
            page.emulate_media(media="print")
            headings = page.evaluate(HEADINGS)
            data = page.pdf(
                prefer_css_page_size=True,
                print_background=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
                outline=True,
                tagged=True,
            )
            page.close()
            reader = PdfReader(io.BytesIO(data))
            marks = _outline(reader.outline)
            if not marks or len(marks) != len(headings):
                raise SystemExit(
                    f"{display_path(built)}: Chromium bookmarked {len(marks)} headings, "
                    f"the page shows {len(headings)}"
                )
            offset = len(writer.pages)
            writer.append(reader, import_outline=False)
            parents: list = [None]
            for (item, depth), title in zip(marks, headings, strict=True):
                del parents[depth + 1 :]
                item = writer.add_outline_item(
                    title=("Appendix: " if appendix and depth == 0 else "") + title,
                    page_number=reader.get_destination_page_number(item) + offset,
                    parent=parents[min(depth, len(parents) - 1)],
                )
                parents.append(item)
    writer.add_metadata(
        {"/Title": config().get("title", ""), "/Creator": "tools/pdf.py (Chromium, pypdf)"}
    )
    writer.page_mode = "/UseOutlines"
    output.parent.mkdir(parents=True, exist_ok=True)
    writer.write(output)
    return len(writer.pages)


def pages_digest(html: Path = HTML) -> str:
    """The sha256 of every built page, from which the PDF is printed."""
    return digest(sorted(html.rglob("*.html")))


def is_current(html: Path = HTML, output: Path = OUTPUT) -> bool:
    """Whether the PDF, and its copy beside the pages, were printed from the pages as built."""
    stamp = output.with_suffix(".inputs")
    copies = [output, html / PUBLISHED_NAME, stamp]
    return all(copy.is_file() for copy in copies) and stamp.read_text() == pages_digest(html)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--if-changed", action="store_true", help="unless printed from these pages")
    args, start = parser.parse_args(argv), time.perf_counter()
    if args.if_changed and is_current():
        print(f"{display_path(OUTPUT)} is up to date")
        return 0
    pages = print_book(HTML, OUTPUT)
    shutil.copy2(OUTPUT, HTML / PUBLISHED_NAME)
    OUTPUT.with_suffix(".inputs").write_text(pages_digest())
    size, seconds = OUTPUT.stat().st_size / 1e6, time.perf_counter() - start
    print(f"wrote {display_path(OUTPUT)}: {pages} pages, {size:.1f} MB, {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
