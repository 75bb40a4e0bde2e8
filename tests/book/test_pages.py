"""What a reader sees on every page, in headless Chromium with nothing outside the book reachable:
no console error, alt text, working links, one search field, the launch menu, no serious WCAG
2.1 AA violation (axe-core, from node_modules) in either theme, figures on a white card."""

from __future__ import annotations

import io
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml

from tests.book.conftest import in_mode, relative_luminance
from tests.conftest import ROOT
from tools.book import toc_notebooks, toc_pages
from tools.explorer_page import BOOK, explorer

pytestmark = pytest.mark.browser
PAGES = [page.relative_to(ROOT).with_suffix(".html").as_posix() for page in toc_pages()]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """() => axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag",
                                     values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})"""
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]


@pytest.mark.parametrize("path", PAGES)
def test_page_reads_offline_with_alt_text_working_links_and_one_search_field(page, path):
    page.goto(path, wait_until="networkidle")
    assert page.locator("article h1").count() == 1
    images = page.locator("article img")
    for index in range(images.count()):
        alt = images.nth(index).get_attribute("alt") or ""
        assert len(alt.strip()) > 20, f"image {index} on {path} has alt text {alt!r}"
    # the theme can show a search field in a header bar and another in the sidebar: one
    assert page.locator(".search-button-field:visible, input[type=search]:visible").count() == 1
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    internal = sorted({href for href in hrefs if href.startswith(BOOK)})
    assert internal, "no internal links found"
    anchors: dict[str, set[str]] = {}
    for href in internal:
        target, fragment = urldefrag(href)
        file = ROOT / "_build/html" / unquote(urlsplit(target).path).lstrip("/")
        assert file.is_file() or (file / "index.html").is_file(), f"{path} links to {href}"
        if fragment and target.endswith(".html"):
            if target not in anchors:
                checker = page.context.new_page()
                checker.goto(target)
                anchors[target] = set(checker.eval_on_selector_all("[id]", "e => e.map(x => x.id)"))
                checker.close()
            assert fragment in anchors[target], f"{path} links to missing #{fragment}"
    log = page.context.log
    assert (log.console_errors, log.blocked_requests, log.failed_requests) == ([], [], [])


@pytest.mark.parametrize("mode", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_no_serious_wcag_violations(page, path, mode):
    in_mode(page, mode).goto(path, wait_until="networkidle")
    if page.locator("script[type*=widget-view]").count():  # wait for the live widgets
        explorer(page)
        page.wait_for_function("() => document.querySelector('[role=slider][aria-label]')")
    assert page.evaluate("document.documentElement.dataset.theme") == mode
    assert AXE.is_file(), "axe-core is missing from node_modules: run `npm ci`"
    page.add_script_tag(path=str(AXE))
    violations = [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['html'][:120]}"
        for violation in page.evaluate(RUN_AXE)["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]
    assert violations == [], "\n".join(violations)


def test_chapter_shows_its_code_outputs_math_and_figure(page):
    page.goto("book/synthetic-regression-data.html", wait_until="networkidle")
    text = page.locator("article").inner_text()
    assert "X shape: torch.Size([32, 2])" in text
    assert "features: tensor([-1.1258, -1.1524])" in text
    # typeset when the book was built: HTML to see and MathML for screen readers
    assert page.locator(".katex .katex-html").count() > 10
    assert page.locator(".katex .katex-mathml math").count() > 10
    assert page.locator("figure img").count() >= 1


@pytest.mark.parametrize("md", toc_notebooks(), ids=lambda p: p.name)
def test_launch_menu_points_at_the_exported_notebook(page, md):
    page.goto(f"book/{md.stem}.html", wait_until="networkidle")
    links = page.eval_on_selector_all(".dropdown-launch-buttons a", "els => els.map(e => e.href)")
    repo = REPOSITORY["url"].removeprefix("https://github.com/")
    blob = f"{repo}/blob/{REPOSITORY['branch']}/notebooks/{md.stem}.ipynb"
    assert sorted(links) == [
        f"https://colab.research.google.com/github/{blob}",
        f"https://mybinder.org/v2/gh/{repo}/{REPOSITORY['branch']}"
        f"?urlpath=lab/tree/notebooks/{md.stem}.ipynb",
        f"https://studiolab.sagemaker.aws/import/github/{blob}",
    ]
    page.locator(".dropdown-launch-buttons button").first.click()
    assert page.get_by_role("link", name="Studio Lab").is_visible()


# Whether every output image and all its ancestors are fully opaque (no fade under way).
FULLY_SHOWN = """() => [...document.querySelectorAll("article .cell_output img")].every((img) => {
  for (let e = img; e; e = e.parentElement) if (getComputedStyle(e).opacity !== "1") return false;
  return true;
})"""


def _ring(image, inset: int) -> list[tuple[int, ...]]:
    """The pixels of the rectangle `inset` pixels inside the image's edge."""
    (width, height), low = image.size, inset
    right, bottom = width - 1 - inset, height - 1 - inset
    points = [(x, y) for x in range(low, right + 1) for y in (low, bottom)]
    points += [(x, y) for y in range(low, bottom + 1) for x in (low, right)]
    return [image.getpixel(point) for point in points]


def test_figures_sit_on_a_white_card_in_dark_mode(page):
    """Each output image, on every page, is framed by white, undimmed, on the dark page."""
    image_module = pytest.importorskip("PIL.Image")
    checked = 0
    in_mode(page, "dark")
    for path in PAGES:
        page.goto(path, wait_until="networkidle")
        # the solutions' figures are inside dropdowns: open them, as a reader would
        page.evaluate(
            "document.querySelectorAll('.toggle-hidden')"
            ".forEach(e => e.classList.remove('toggle-hidden'))"
        )
        page.wait_for_function(FULLY_SHOWN)  # the dropdowns fade in
        # the figures of the reader's framework; the other frameworks' copies are hidden
        images = page.locator("article .cell_output img:visible")
        for index in range(images.count()):
            images.nth(index).scroll_into_view_if_needed()
            box = images.nth(index).bounding_box()
            clip = {"x": box["x"] - 4, "y": box["y"] - 4}  # 4 pixels of the page around it
            clip |= {"width": box["width"] + 8, "height": box["height"] + 8}
            pixels = image_module.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
            # dark around the card: the page itself, or a solution's dark box (luminance 0.021)
            assert max(map(relative_luminance, _ring(pixels, 1))) < 0.05, (path, index)
            assert min(map(relative_luminance, _ring(pixels, 4 + 6))) > 0.97, (path, index)
            assert images.nth(index).evaluate("e => getComputedStyle(e).filter") == "none"
            checked += 1
    assert checked >= 5  # the chapter's, the explorer's and the exercises' figures
