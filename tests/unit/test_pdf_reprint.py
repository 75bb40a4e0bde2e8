"""`make book` prints the PDF again only when a built page changed (`--if-changed`)."""

from __future__ import annotations

from tools import pdf


def test_the_pdf_is_printed_again_only_when_a_built_page_changed(tmp_path):
    html, output = tmp_path / "html", tmp_path / "pdf" / "book.pdf"
    page = html / "book" / "page.html"
    page.parent.mkdir(parents=True)
    output.parent.mkdir()
    page.write_text("<p>built</p>")
    assert not pdf.is_current(html, output)  # never printed
    for copy in (output, html / pdf.PUBLISHED_NAME):
        copy.write_bytes(b"%PDF")
    output.with_suffix(".inputs").write_text(pdf.pages_digest(html))
    assert pdf.is_current(html, output)
    page.write_text("<p>built</p>")  # built again, the same: no new PDF
    assert pdf.is_current(html, output)
    page.write_text("<p>built again, changed</p>")
    assert not pdf.is_current(html, output)
    page.write_text("<p>built</p>")
    (html / pdf.PUBLISHED_NAME).unlink()  # the copy the download menus link is gone
    assert not pdf.is_current(html, output)
