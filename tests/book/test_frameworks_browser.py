"""The framework switch as a reader uses it: offline, in headless Chromium, with no kernel."""

from __future__ import annotations

import jupytext
import pytest

from tests.book.conftest import open_page
from tests.conftest import ROOT
from tools.explorer_page import BOOK
from tools.frameworks import FRAMEWORKS, TITLES, multi_framework_pages, pytorch_for_all

pytestmark = pytest.mark.browser
ADDS_TO_PYTORCH = {  # a page in four frameworks, or PyTorch throughout with additions
    f"book/{md.stem}.html": pytorch_for_all(jupytext.read(md)) for md in multi_framework_pages()
}
VISIBLE_CELLS = """() => [...document.querySelectorAll('article .cell')]
    .filter(cell => cell.offsetParent !== null)
    .map(cell => [...cell.classList].find(c => c.startsWith('tag_fw-')) || 'none')"""
LINKS = ".dropdown-launch-buttons a, .dropdown-download-buttons a"
DOWNLOAD = ".dropdown-download-buttons a[href$='.ipynb']"


def choose(page, framework: str) -> list[str]:
    """Press a framework's button; the kinds of the code cells then shown."""
    page.locator(".framework-switch").get_by_role("button", name=TITLES[framework]).click()
    return page.evaluate(VISIBLE_CELLS)


def pressed(page) -> list[str]:
    return page.locator(".framework-switch [aria-pressed=true]").all_inner_texts()


@pytest.mark.parametrize("path", [path for path, adds in ADDS_TO_PYTORCH.items() if not adds])
def test_the_switch_changes_every_cell_output_number_and_link_and_sticks(page, path):
    open_page(page, path)
    switch = page.locator(".framework-switch")
    assert switch.get_by_role("button").all_inner_texts() == [TITLES[f] for f in FRAMEWORKS]
    assert pressed(page) == ["PyTorch"] and set(page.evaluate(VISIBLE_CELLS)) == {"tag_fw-pytorch"}
    pytorch = page.locator("article").inner_text()
    stem = path.removeprefix("book/").removesuffix(".html")
    for framework in [*FRAMEWORKS[1:], "pytorch"]:
        cells = page.locator(f"article .cell.tag_fw-{framework}")
        assert choose(page, framework) == [f"tag_fw-{framework}"] * cells.count()  # no other
        text = page.locator("article").inner_text()
        assert "\n".join(cells.all_inner_texts()).split("\n")[-2] in text  # with its output
        assert framework == "pytorch" or text != pytorch
        glued = page.locator("article .fw-only").evaluate_all(  # the prose's numbers
            "spans => spans.filter(s => s.offsetParent !== null).map(s => s.className)"
        )
        assert glued and all(f"fw-{framework}" in name for name in glued)
        notebook = f"{stem}.ipynb" if framework == "pytorch" else f"{stem}.{framework}.ipynb"
        hrefs = page.eval_on_selector_all(LINKS, "links => links.map(a => a.href)")
        hrefs = [href for href in hrefs if href.endswith(".ipynb")]  # Binder, Colab, Studio Lab
        assert len(hrefs) == 4 and all(h.endswith("/" + notebook) for h in hrefs), hrefs
        download = page.eval_on_selector(DOWNLOAD, "a => a.href")
        assert (ROOT / "_build/html" / download.removeprefix(BOOK + "/")).is_file()
    choose(page, "jax")  # the choice sticks across pages and visits
    page.goto("book/explorer.html", wait_until="load")
    assert page.evaluate("document.documentElement.dataset.framework") == "jax"
    page.goto(path, wait_until="load")
    assert set(page.evaluate(VISIBLE_CELLS)) == {"tag_fw-jax"} and pressed(page) == ["JAX"]
    assert page.context.log.console_errors == [] and page.context.log.blocked_requests == []


@pytest.mark.parametrize("path", [path for path, adds in ADDS_TO_PYTORCH.items() if adds])
def test_additions_join_the_pytorch_code_for_their_framework(page, path):
    open_page(page, path)
    pytorch_cells = page.evaluate(VISIBLE_CELLS)
    assert set(pytorch_cells) == {"none"}
    for framework in FRAMEWORKS[1:]:
        shown = choose(page, framework)
        assert set(shown) == {"none", f"tag_fw-{framework}"}
        assert shown.count("none") == len(pytorch_cells)
    assert page.context.log.console_errors == []
