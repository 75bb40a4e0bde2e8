"""Launching the notebooks elsewhere: setup cells, launch links and the Colab-like run."""

from __future__ import annotations

import zipfile
from pathlib import Path

import jupytext
import pytest
import yaml

from tests.conftest import ROOT
from tools import classroom
from tools.book_notebooks import toc_notebooks
from tools.setup_cell import SETUP_CELL

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = CONFIG["repository"]["url"].removeprefix("https://github.com/")
BRANCH = CONFIG["repository"]["branch"]
NOTEBOOKS = toc_notebooks()


def setup_cell(md):
    return next(c for c in jupytext.read(md).cells if c.cell_type == "code")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_hidden_setup_cell(md):
    cell = setup_cell(md)
    assert "hide-cell" in cell.metadata.get("tags", [])
    assert f'git+{CONFIG["repository"]["url"]}"' in cell.source
    assert cell.source == SETUP_CELL


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_launch_menu_points_at_the_paired_notebook(offline_page, book_server, md):
    offline_page.goto(f"{book_server}/book/{md.stem}.html", wait_until="networkidle")
    links = offline_page.eval_on_selector_all(
        ".dropdown-launch-buttons a", "els => els.map(e => e.href)"
    )
    path = f"notebooks/{md.stem}.ipynb"
    assert sorted(links) == sorted(
        [
            f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=lab/tree/{path}",
            f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{path}",
            f"https://studiolab.sagemaker.aws/import/github/{REPO}/blob/{BRANCH}/{path}",
        ]
    )
    offline_page.locator(".dropdown-launch-buttons button").first.click()
    assert offline_page.get_by_role("link", name="Studio Lab").is_visible()


def _toc_files(node) -> list[str]:
    """Every `file:` entry of a `_toc.yml` node, in document order."""
    if isinstance(node, list):
        return [name for child in node for name in _toc_files(child)]
    if isinstance(node, dict):
        own = [node["file"]] if "file" in node else []
        return own + [
            name for key, child in node.items() if key != "file" for name in _toc_files(child)
        ]
    return []


def _expected_classroom_notebooks() -> list[str]:
    """The exported notebooks of the book's pages, in `_toc.yml` order, read here from the file."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"], *_toc_files(toc)]
    exported = [f"notebooks/{Path(page).name}.ipynb" for page in pages]
    return [path for path in exported if (ROOT / path).is_file()]


def test_classroom_zip_holds_every_notebook_and_links(tmp_path):
    path = tmp_path / "classroom.zip"
    classroom.build(path)
    notebooks = _expected_classroom_notebooks()
    assert len(notebooks) >= 3
    names = [f"{number:02d}-{Path(page).name}" for number, page in enumerate(notebooks, 1)]
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [*names, "README.txt"]
        for name, page in zip(names, notebooks, strict=True):
            assert archive.read(name) == (ROOT / page).read_bytes()
        readme = archive.read("README.txt").decode()
    blocks = [
        f"{name}\n"
        f"  Colab: https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{page}\n"
        f"  SageMaker Studio Lab: https://studiolab.sagemaker.aws/import/github/{REPO}/blob/"
        f"{BRANCH}/{page}\n"
        for name, page in zip(names, notebooks, strict=True)
    ]
    positions = [readme.find(block) for block in blocks]
    assert -1 not in positions and positions == sorted(positions), readme
