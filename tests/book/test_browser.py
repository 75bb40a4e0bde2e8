"""What a reader sees: the built pages in headless Chromium, with every outside request blocked."""

from __future__ import annotations

from urllib.parse import urldefrag

import pytest

from tools.book_notebooks import toc_pages

PAGES = [f"{page.parent.name}/{page.stem}.html" for page in toc_pages()]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_offline_without_console_errors(offline_page, book_server, path):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    assert offline_page.locator("article h1").count() == 1
    assert offline_page.log.console_errors == []
    assert offline_page.log.blocked_requests == []
    assert offline_page.log.failed_requests == []


def test_chapter_shows_its_code_outputs_math_and_figure(offline_page, book_server):
    offline_page.goto(
        f"{book_server}/book/synthetic-regression-data.html", wait_until="networkidle"
    )
    text = offline_page.locator("article").inner_text()
    assert "X shape: torch.Size([32, 2])" in text
    assert "features: tensor([-1.1258, -1.1524])" in text
    # typeset when the book was built: HTML to see and MathML for screen readers
    assert offline_page.locator(".katex .katex-html").count() > 10
    assert offline_page.locator(".katex .katex-mathml math").count() > 10
    assert offline_page.locator("figure img").count() >= 1


@pytest.mark.parametrize("path", PAGES)
def test_every_image_has_alt_text(offline_page, book_server, path):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    images = offline_page.locator("article img")
    for index in range(images.count()):
        alt = images.nth(index).get_attribute("alt") or ""
        assert len(alt.strip()) > 20, f"image {index} on {path} has alt text {alt!r}"


@pytest.mark.parametrize("path", PAGES)
def test_every_internal_link_resolves(offline_page, book_server, path):
    page_url = f"{book_server}/{path}"
    offline_page.goto(page_url, wait_until="networkidle")
    hrefs = offline_page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    internal = sorted({h for h in hrefs if h.startswith(book_server)})
    assert internal, "no internal links found"
    anchors_by_page: dict[str, set[str]] = {}
    for href in internal:
        target, fragment = urldefrag(href)
        response = offline_page.request.get(target)
        assert response.ok, f"{path} links to {href}, which answers {response.status}"
        if fragment and target.endswith(".html"):
            if target not in anchors_by_page:
                checker = offline_page.context.new_page()
                checker.goto(target)
                anchors_by_page[target] = set(
                    checker.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
                )
                checker.close()
            assert fragment in anchors_by_page[target], f"{path} links to missing #{fragment}"
