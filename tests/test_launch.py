"""Launching the notebooks elsewhere: setup cells, launch links and the Colab-like run."""

from __future__ import annotations

import re
import zipfile

import jupytext
import pytest
import yaml

from tests.conftest import ROOT
from tools import classroom, colab_smoke
from tools.book_notebooks import toc_notebooks

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
    assert f'REPOSITORY = "{CONFIG["repository"]["url"]}"' in cell.source
    assert cell.source == setup_cell(NOTEBOOKS[0]).source
    assert "torch" not in re.findall(r'"(\w+)": "', cell.source)
    assert cell.source.count('"--no-deps"') == 1 and cell.source.count("pip") == 1


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_launch_menu_points_at_the_paired_notebook(offline_page, book_server, md):
    offline_page.goto(f"{book_server}/book/{md.stem}.html", wait_until="networkidle")
    links = offline_page.eval_on_selector_all(
        ".dropdown-launch-buttons a", "els => els.map(e => e.href)"
    )
    path = f"book/{md.stem}.ipynb"
    assert sorted(links) == sorted(
        [
            f"https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=lab/tree/{path}",
            f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{path}",
            f"https://studiolab.sagemaker.aws/import/github/{REPO}/blob/{BRANCH}/{path}",
        ]
    )
    offline_page.locator(".dropdown-launch-buttons button").first.click()
    assert offline_page.get_by_role("link", name="Studio Lab").is_visible()


def test_classroom_zip_holds_every_notebook_and_links():
    names = classroom.build()
    with zipfile.ZipFile(classroom.ARCHIVE) as archive:
        assert sorted(archive.namelist()) == sorted([*names, "README.txt"])
        readme = archive.read("README.txt").decode()
    assert len(names) == len(NOTEBOOKS)
    assert readme.count("studiolab.sagemaker.aws") == len(NOTEBOOKS)


@pytest.mark.colab
def test_notebooks_run_in_a_colab_like_environment():
    result = colab_smoke.run()
    assert result.executed == [md.with_suffix(".ipynb").name for md in NOTEBOOKS]
    assert result.versions_before == result.versions_after
    assert {"d2l", "d2lsave"} <= set(result.installed_by_setup)
    assert "myst_nb" not in result.installed_by_setup
    assert "anywidget" in result.installed_by_setup
