"""Every page of the built book, checked by axe-core in both themes, and one search field.

axe-core is the npm package pinned in package-lock.json (installed by `npm ci`); it is injected
from node_modules, so nothing is fetched from the network. A page passes when axe finds no
serious or critical violation of WCAG 2.1 level A or AA.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tools.book_notebooks import toc_pages
from tools.explorer_page import explorer, open_in_mode

pytestmark = pytest.mark.browser
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
PAGES = [f"{page.parent.name}/{page.stem}.html" for page in toc_pages()]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: "tag", values: tags},
                                    resultTypes: ["violations"]})"""


def blocking_violations(page) -> list[str]:
    """axe's serious and critical WCAG 2.1 AA violations on the page, one line per element."""
    assert AXE.is_file(), "axe-core is missing from node_modules: run `npm ci`"
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(RUN_AXE, WCAG_21_AA)
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['html'][:120]}"
        for violation in results["violations"]
        if violation["impact"] in BLOCKING
        for node in violation["nodes"]
    ]


def settle(page) -> None:
    """Wait for what scripts add after load: the explorer's live widgets."""
    if page.locator(".jupyter-widgets, script[type*=widget-view]").count():
        explorer(page)
        page.wait_for_function("() => document.querySelector('[role=slider][aria-label]')")


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_no_serious_wcag_violations(chromium, book_server, path, mode):
    page = open_in_mode(chromium, book_server, path, mode)
    settle(page)
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    violations = blocking_violations(page)
    page.context.close()
    assert violations == [], "\n".join(violations)


@pytest.mark.parametrize("path", PAGES)
def test_one_search_field(chromium, book_server, path):
    """The theme can show a search field in a header bar and another in the sidebar: one."""
    page = open_in_mode(chromium, book_server, path, "light")
    fields = page.locator(".search-button-field:visible, input[type=search]:visible")
    count = fields.count()
    page.context.close()
    assert count == 1
