"""The framework switch as a reader uses it: offline, in headless Chromium, with no kernel."""

from __future__ import annotations

import jupytext
import pytest

from tests.conftest import ROOT
from tools.explorer_page import BOOK
from tools.frameworks import FRAMEWORKS, TITLES, multi_framework_pages, pytorch_for_all

pytestmark = pytest.mark.browser

ADDS_TO_PYTORCH = {  # a page in four frameworks, or PyTorch throughout with additions
    f"book/{md.stem}.html": pytorch_for_all(jupytext.read(md)) for md in multi_framework_pages()
}
PAGES = [path for path, additions in ADDS_TO_PYTORCH.items() if not additions]
ADDITIONS = [path for path, additions in ADDS_TO_PYTORCH.items() if additions]
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
def test_the_page_opens_in_pytorch_with_a_switch_of_four(page, path):
    page.goto(path, wait_until="networkidle")
    switch = page.locator(".framework-switch")
    assert switch.get_by_role("button").all_inner_texts() == [TITLES[f] for f in FRAMEWORKS]
    assert switch.get_by_role("button", name="PyTorch").get_attribute("aria-pressed") == "true"
    assert visible_frameworks(page) == {"tag_fw-pytorch"}


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("framework", FRAMEWORKS[1:])
def test_switching_changes_every_code_cell_and_output(page, path, framework):
    page.goto(path, wait_until="networkidle")
    before = page.locator("article").inner_text()
    choose(page, framework)
    # every code cell of the chosen framework is shown, with its output, and no other
    shown = page.evaluate(VISIBLE_CELLS)
    assert set(shown) == {f"tag_fw-{framework}"}
    assert len(shown) == page.locator(f"article .cell.tag_fw-{framework}").count()
    after = page.locator("article").inner_text()
    assert after != before
    assert page.evaluate(CELL_TEXT, framework).split("\n")[-2] in after
    # each glued number of the prose is the chosen framework's
    glued = page.locator("article .fw-only").evaluate_all(
        "spans => spans.filter(s => s.offsetParent !== null).map(s => s.className)"
    )
    assert glued and all(f"fw-{framework}" in name for name in glued)
    assert page.context.log.console_errors == []
    assert page.context.log.blocked_requests == []


@pytest.mark.parametrize("path", PAGES)
def test_the_choice_sticks_across_pages_and_visits(page, path):
    page.goto(path, wait_until="networkidle")
    choose(page, "jax")
    page.goto(OTHER_PAGE, wait_until="networkidle")
    assert page.evaluate("document.documentElement.dataset.framework") == "jax"
    page.goto(path, wait_until="networkidle")
    assert visible_frameworks(page) == {"tag_fw-jax"}
    switch = page.locator(".framework-switch")
    assert switch.get_by_role("button", name="JAX").get_attribute("aria-pressed") == "true"


@pytest.mark.parametrize("path", PAGES)
def test_launch_and_download_links_follow_the_framework(page, path):
    page.goto(path, wait_until="networkidle")
    stem = path.removeprefix("book/").removesuffix(".html")
    links = ".dropdown-launch-buttons a, .dropdown-download-buttons a"
    for framework in FRAMEWORKS:
        choose(page, framework)
        notebook = f"{stem}.ipynb" if framework == "pytorch" else f"{stem}.{framework}.ipynb"
        hrefs = page.eval_on_selector_all(links, "els => els.map(e => e.href)")
        notebooks = [href for href in hrefs if href.endswith(".ipynb")]
        assert len(notebooks) == 4  # Binder, Colab, Studio Lab and the download
        assert all(href.endswith("/" + notebook) for href in notebooks), notebooks
    download = page.eval_on_selector(".dropdown-download-buttons a[href$='.ipynb']", "e => e.href")
    assert (ROOT / "_build/html" / download.removeprefix(BOOK + "/")).is_file()


@pytest.mark.parametrize("path", ADDITIONS)
@pytest.mark.parametrize("framework", FRAMEWORKS[1:])
def test_additions_join_the_pytorch_code_for_their_framework(page, path, framework):
    page.goto(path, wait_until="networkidle")
    assert visible_frameworks(page) == {"none"}
    pytorch_cells = page.evaluate(VISIBLE_CELLS).count("none")
    choose(page, framework)
    shown = page.evaluate(VISIBLE_CELLS)
    assert set(shown) == {"none", f"tag_fw-{framework}"}
    assert shown.count("none") == pytorch_cells
    assert page.context.log.console_errors == []
