"""The framework switch as a reader uses it: offline, in headless Chromium, with no kernel."""

from __future__ import annotations

import jupytext
import pytest

from tools.frameworks import FRAMEWORKS, TITLES, multi_framework_pages, pytorch_for_all

PAGES = [
    f"book/{md.stem}.html"
    for md in multi_framework_pages()
    if not pytorch_for_all(jupytext.read(md))
]
ADDITIONS = [  # PyTorch throughout, with additions for the other frameworks
    f"book/{md.stem}.html" for md in multi_framework_pages() if pytorch_for_all(jupytext.read(md))
]
OTHER_PAGE = "book/explorer.html"

VISIBLE_CELLS = """
() => [...document.querySelectorAll('article .cell')]
    .filter(cell => cell.offsetParent !== null)
    .map(cell => [...cell.classList].find(c => c.startsWith('tag_fw-')) || 'none')
"""
CELL_TEXT = """
(framework) => [...document.querySelectorAll('article .cell.tag_fw-' + framework)]
    .map(cell => cell.innerText).join('\\n')
"""


def visible_frameworks(page) -> set[str]:
    return set(page.evaluate(VISIBLE_CELLS))


def choose(page, framework: str) -> None:
    page.locator(".framework-switch").get_by_role("button", name=TITLES[framework]).click()


@pytest.mark.parametrize("path", PAGES)
def test_the_page_opens_in_pytorch_with_a_switch_of_four(offline_page, book_server, path):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    switch = offline_page.locator(".framework-switch")
    assert switch.get_by_role("button").all_inner_texts() == [TITLES[f] for f in FRAMEWORKS]
    assert switch.get_by_role("button", name="PyTorch").get_attribute("aria-pressed") == "true"
    assert visible_frameworks(offline_page) == {"tag_fw-pytorch"}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("framework", FRAMEWORKS[1:])
def test_switching_changes_every_code_cell_and_output(offline_page, book_server, path, framework):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    before = offline_page.locator("article").inner_text()
    choose(offline_page, framework)
    # every code cell of the chosen framework is shown, with its output, and no other
    shown = offline_page.evaluate(VISIBLE_CELLS)
    assert set(shown) == {f"tag_fw-{framework}"}
    assert len(shown) == offline_page.locator(f"article .cell.tag_fw-{framework}").count()
    after = offline_page.locator("article").inner_text()
    assert after != before
    assert offline_page.evaluate(CELL_TEXT, framework).split("\n")[-2] in after
    # each glued number of the prose is the chosen framework's
    glued = offline_page.locator("article .fw-only").evaluate_all(
        "spans => spans.filter(s => s.offsetParent !== null).map(s => s.className)"
    )
    assert glued and all(f"fw-{framework}" in name for name in glued)
    assert offline_page.log.console_errors == []
    assert offline_page.log.blocked_requests == []


@pytest.mark.parametrize("path", PAGES)
def test_the_choice_sticks_across_pages_and_visits(offline_page, book_server, path):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    choose(offline_page, "jax")
    offline_page.goto(f"{book_server}/{OTHER_PAGE}", wait_until="networkidle")
    assert offline_page.evaluate("document.documentElement.dataset.framework") == "jax"
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    assert visible_frameworks(offline_page) == {"tag_fw-jax"}
    switch = offline_page.locator(".framework-switch")
    assert switch.get_by_role("button", name="JAX").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("path", PAGES)
def test_launch_and_download_links_follow_the_framework(offline_page, book_server, path):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    stem = path.removeprefix("book/").removesuffix(".html")
    links = ".dropdown-launch-buttons a, .dropdown-download-buttons a"
    for framework in FRAMEWORKS:
        choose(offline_page, framework)
        notebook = f"{stem}.ipynb" if framework == "pytorch" else f"{stem}.{framework}.ipynb"
        hrefs = offline_page.eval_on_selector_all(links, "els => els.map(e => e.href)")
        notebooks = [href for href in hrefs if href.endswith(".ipynb")]
        assert len(notebooks) == 4  # Binder, Colab, Studio Lab and the download
        assert all(href.endswith("/" + notebook) for href in notebooks), notebooks
    download = offline_page.eval_on_selector(
        ".dropdown-download-buttons a[href$='.ipynb']", "e => e.href"
    )
    assert offline_page.request.get(download).ok


@pytest.mark.parametrize("path", ADDITIONS)
@pytest.mark.parametrize("framework", FRAMEWORKS[1:])
def test_additions_join_the_pytorch_code_for_their_framework(
    offline_page, book_server, path, framework
):
    offline_page.goto(f"{book_server}/{path}", wait_until="networkidle")
    assert visible_frameworks(offline_page) == {"none"}
    pytorch_cells = offline_page.evaluate(VISIBLE_CELLS).count("none")
    choose(offline_page, framework)
    shown = offline_page.evaluate(VISIBLE_CELLS)
    assert set(shown) == {"none", f"tag_fw-{framework}"}
    assert shown.count("none") == pytorch_cells
    assert offline_page.log.console_errors == []
