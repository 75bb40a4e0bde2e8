"""What a reader sees on every page, in both themes, in headless Chromium with nothing outside
the book reachable: alt text, one search field, working links and launch menu, no serious WCAG
2.1 AA violation (axe-core, from node_modules), figures on a white card; the framework switch,
with no kernel; and the notebooks launched elsewhere, alone or zipped for a class."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import jupytext
import nbformat
import pytest
from PIL import Image

from d2lsetup import setup_cell
from tests.book.conftest import open_page, relative_luminance
from tests.conftest import ROOT
from tools import classroom
from tools.book import config, toc_notebooks, toc_pages
from tools.explorer_page import BOOK, HTML, PAGES
from tools.frameworks import (
    FRAMEWORKS,
    TITLES,
    derived_notebook,
    launched_frameworks,
    multi_framework_pages,
    pytorch_for_all,
)

NOTEBOOKS = {f"book/{md.stem}.html": md.stem for md in toc_notebooks()}
CHAPTER = "book/synthetic-regression-data.html"
REPOSITORY = config()["repository"]
GITHUB, BRANCH = REPOSITORY["url"].removeprefix("https://github.com/"), REPOSITORY["branch"]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Without preloading: axe would fetch the stylesheets, which a page from disk may not, for its one
# rule that reads them, an experimental one it does not run.
RUN_AXE = """() => axe.run(document, {resultTypes: ["violations"], preload: false, runOnly: {
  type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})"""
# Whether every output image and all its ancestors are fully opaque (no fade under way).
FULLY_SHOWN = """() => [...document.querySelectorAll("article .cell_output img")].every((img) => {
  for (let e = img; e; e = e.parentElement) if (getComputedStyle(e).opacity !== "1") return false;
  return true;
})"""


def assert_links_work(page, path: str) -> None:
    """Every link into the book reaches a built file, and its fragment an id there."""
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    internal = sorted({href for href in hrefs if href.startswith(BOOK + "/")})
    assert internal, "no internal links found"
    for href in internal:
        target, fragment = urldefrag(href)
        file = Path(unquote(urlsplit(target).path))
        assert file.is_file() or (file / "index.html").is_file(), f"{path} links to {href}"
        if fragment and target.endswith(".html"):
            ids = re.findall(r'\bid="([^"]*)"', file.read_text())
            assert fragment in ids, f"{path} links to missing #{fragment}"
    if path in NOTEBOOKS:  # the launch menu opens the exported notebook
        notebook = f"notebooks/{NOTEBOOKS[path]}.ipynb"
        links = page.eval_on_selector_all(".dropdown-launch-buttons a", "a => a.map(e => e.href)")
        assert sorted(links) == [
            f"https://colab.research.google.com/github/{GITHUB}/blob/{BRANCH}/{notebook}",
            f"https://mybinder.org/v2/gh/{GITHUB}/{BRANCH}?urlpath=lab/tree/{notebook}",
            f"https://studiolab.sagemaker.aws/import/github/{GITHUB}/blob/{BRANCH}/{notebook}",
        ]
        page.locator(".dropdown-launch-buttons button").first.click()
        assert page.get_by_role("link", name="Studio Lab").is_visible()


def ring(image, inset: int) -> list[tuple[int, ...]]:
    """The pixels `inset` pixels inside the image's edge."""
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
    assert page.context.log.failed_requests == []


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
        assert (HTML / download.removeprefix(BOOK + "/")).is_file()
    choose(page, "jax")  # the choice is stored where every page of the book reads it...
    assert page.evaluate("localStorage.getItem('d2l-framework')") == "jax"
    # ...and a later visit applies it, to any page (Chromium hands storage to another page's
    # process asynchronously, so the visit starts with it stored rather than racing that)
    later = page.context.new_page()
    later.add_init_script("localStorage.setItem('d2l-framework', 'jax')")
    for visit in ("book/explorer.html", path):
        later.goto(visit, wait_until="load")
        assert later.evaluate("document.documentElement.dataset.framework") == "jax"
    assert set(later.evaluate(VISIBLE_CELLS)) == {"tag_fw-jax"} and pressed(later) == ["JAX"]


@pytest.mark.parametrize("path", [path for path, adds in ADDS_TO_PYTORCH.items() if adds])
def test_additions_join_the_pytorch_code_for_their_framework(page, path):
    open_page(page, path)
    pytorch_cells = page.evaluate(VISIBLE_CELLS)
    assert set(pytorch_cells) == {"none"}
    for framework in FRAMEWORKS[1:]:
        shown = choose(page, framework)
        assert set(shown) == {"none", f"tag_fw-{framework}"}
        assert shown.count("none") == len(pytorch_cells)


@pytest.mark.parametrize("md", toc_notebooks(), ids=lambda p: p.name)
def test_every_launched_notebook_opens_with_its_hidden_setup_cell(md):
    for framework in launched_frameworks(md):
        notebook = nbformat.read(ROOT / "notebooks" / derived_notebook(md, framework).name, 4)
        first = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert first.source == setup_cell(framework), framework
        assert f'git+{REPOSITORY["url"]}"' in first.source
        assert "hide-cell" in first.metadata.get("tags", []), framework
        assert first.metadata["jupyter"]["source_hidden"] is True, framework


def test_classroom_zip_holds_every_notebook_and_links(tmp_path):
    classroom.build(tmp_path / "classroom.zip")
    exported = [f"notebooks/{page.stem}.ipynb" for page in toc_pages()]
    notebooks = [notebook for notebook in exported if (ROOT / notebook).is_file()]
    assert len(notebooks) >= 3
    names = [f"{k:02d}-{page.removeprefix('notebooks/')}" for k, page in enumerate(notebooks, 1)]
    with zipfile.ZipFile(tmp_path / "classroom.zip") as archive:
        assert archive.namelist() == [*names, "README.txt"]
        for name, notebook in zip(names, notebooks, strict=True):
            assert archive.read(name) == (ROOT / notebook).read_bytes()
        readme = archive.read("README.txt").decode()
    blob = f"{GITHUB}/blob/{BRANCH}"
    blocks = [
        f"{name}\n  Colab: https://colab.research.google.com/github/{blob}/{page}\n"
        f"  SageMaker Studio Lab: https://studiolab.sagemaker.aws/import/github/{blob}/{page}\n"
        for name, page in zip(names, notebooks, strict=True)
    ]
    positions = [readme.find(block) for block in blocks]
    assert -1 not in positions and positions == sorted(positions), readme
