"""`make book` prints the PDF again only when a page was built after it (`--if-changed`)."""

from __future__ import annotations

import os

from tools import pdf


def test_the_pdf_is_printed_again_only_after_a_page_is_built_again(tmp_path):
    html, output = tmp_path / "html", tmp_path / "pdf" / "book.pdf"
    page = html / "book" / "page.html"
    page.parent.mkdir(parents=True)
    output.parent.mkdir()
    page.write_text("<p>built</p>")
    assert not pdf.is_current(html, output)  # never printed
    for copy in (output, html / pdf.PUBLISHED_NAME):
        copy.write_bytes(b"%PDF")
        os.utime(copy, (2_000, 2_000))
    os.utime(page, (1_000, 1_000))
    assert pdf.is_current(html, output)
    os.utime(page, (3_000, 3_000))  # the page was built again after the PDF
    assert not pdf.is_current(html, output)
    os.utime(page, (1_000, 1_000))
    (html / pdf.PUBLISHED_NAME).unlink()  # the copy the download menus link is gone
    assert not pdf.is_current(html, output)
