"""What a reader sees on every page, in both themes, in headless Chromium with nothing outside
the book reachable: no console error, alt text, one search field, working links and launch
menu, no serious WCAG 2.1 AA violation (axe-core, from node_modules), figures on a white card."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from PIL import Image

from tests.book.conftest import open_page, relative_luminance
from tests.conftest import ROOT
from tools.book import config, toc_notebooks, toc_pages
from tools.explorer_page import BOOK

pytestmark = pytest.mark.browser
PAGES = [page.relative_to(ROOT).with_suffix(".html").as_posix() for page in toc_pages()]
NOTEBOOKS = {f"book/{md.stem}.html": md.stem for md in toc_notebooks()}
CHAPTER = "book/synthetic-regression-data.html"
REPOSITORY = config()["repository"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """() => axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag",
                                     values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})"""
# Whether every output image and all its ancestors are fully opaque (no fade under way).
FULLY_SHOWN = """() => [...document.querySelectorAll("article .cell_output img")].every((img) => {
  for (let e = img; e; e = e.parentElement) if (getComputedStyle(e).opacity !== "1") return false;
  return true;
})"""


def assert_links_work(page, path: str) -> None:
    """Every link into the book reaches a built file, and its fragment an id there."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    internal = sorted({href for href in hrefs if href.startswith(BOOK)})
    assert internal, "no internal links found"
    for href in internal:
        target, fragment = urldefrag(href)
        file = ROOT / "_build/html" / unquote(urlsplit(target).path).lstrip("/")
        assert file.is_file() or (file / "index.html").is_file(), f"{path} links to {href}"
        if fragment and target.endswith(".html"):
            ids = re.findall(r'\bid="([^"]*)"', file.read_text())
            assert fragment in ids, f"{path} links to missing #{fragment}"
    if path in NOTEBOOKS:  # the launch menu opens the exported notebook
        repo, branch = REPOSITORY["url"].removeprefix("https://github.com/"), REPOSITORY["branch"]
        notebook = f"notebooks/{NOTEBOOKS[path]}.ipynb"
        links = page.eval_on_selector_all(".dropdown-launch-buttons a", "a => a.map(e => e.href)")
        assert sorted(links) == [
            f"https://colab.research.google.com/github/{repo}/blob/{branch}/{notebook}",
            f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{notebook}",
            f"https://studiolab.sagemaker.aws/import/github/{repo}/blob/{branch}/{notebook}",
        ]
        page.locator(".dropdown-launch-buttons button").first.click()
        assert page.get_by_role("link", name="Studio Lab").is_visible()


def ring(image, inset: int) -> list[tuple[int, ...]]:
    """The pixels of the rectangle `inset` pixels inside the image's edge."""
    right, bottom = image.size[0] - 1 - inset, image.size[1] - 1 - inset
    points = [(x, y) for x in range(inset, right + 1) for y in (inset, bottom)]
    points += [(x, y) for y in range(inset, bottom + 1) for x in (inset, right)]
    return [image.getpixel(point) for point in points]


def assert_figures_sit_on_a_white_card(page) -> None:
    """Each output image of the reader's framework, the solutions' too, is framed by white,
    undimmed, on the dark page."""
    page.locator(".toggle-hidden").evaluate_all(  # open the dropdowns, as a reader would
        "hidden => hidden.forEach(e => e.classList.remove('toggle-hidden'))"
    )
    page.wait_for_function(FULLY_SHOWN)  # the dropdowns fade in
    images = page.locator("article .cell_output img:visible")
    assert (images.count() > 0) == (page.locator("article .cell_output img").count() > 0)
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
        box = images.nth(index).bounding_box()
        clip = {"x": box["x"] - 4, "y": box["y"] - 4}  # 4 pixels of the page around it
        clip |= {"width": box["width"] + 8, "height": box["height"] + 8}
        pixels = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
        # dark around the card: the page itself, or a solution's dark box (luminance 0.021)
        assert max(map(relative_luminance, ring(pixels, 1))) < 0.05, index
        assert min(map(relative_luminance, ring(pixels, 4 + 6))) > 0.97, index
        assert images.nth(index).evaluate("e => getComputedStyle(e).filter") == "none"


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_page_reads_offline_and_accessibly(page, path, mode):
    open_page(page, path, mode, until="networkidle")
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    assert page.locator("article h1").count() == 1
    images = page.locator("article img")
    for index in range(images.count()):
        alt = images.nth(index).get_attribute("alt") or ""
        assert len(alt.strip()) > 20, f"image {index} has alt text {alt!r}"
    # the theme can show a search field in a header bar and another in the sidebar: one
    assert page.locator(".search-button-field:visible, input[type=search]:visible").count() == 1
    assert AXE.is_file(), "axe-core is missing from node_modules: run `npm ci`"
    page.add_script_tag(path=str(AXE))
    violations = [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['html'][:120]}"
        for violation in page.evaluate(RUN_AXE)["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]
    assert violations == [], "\n".join(violations)
    if path == CHAPTER:  # its code's outputs; formulas typeset at build time, with MathML
        text = page.locator("article").inner_text()
        assert "X shape: torch.Size([32, 2])" in text
        assert "features: tensor([-1.1258, -1.1524])" in text
        assert page.locator(".katex .katex-html").count() > 10
        assert page.locator(".katex .katex-mathml math").count() > 10
        assert page.locator("figure img").count() >= 1
    if mode == "light":
        assert_links_work(page, path)
    else:
        assert_figures_sit_on_a_white_card(page)
    log = page.context.log
    assert (log.console_errors, log.blocked_requests, log.failed_requests) == ([], [], [])
