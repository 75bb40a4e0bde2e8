"""Launching the notebooks elsewhere: each opens with its hidden setup cell, and the classroom
zip holds every exported notebook, in reading order, with its Colab and Studio Lab links."""

from __future__ import annotations

import zipfile

import nbformat
import pytest

from d2lsetup import setup_cell
from tests.conftest import ROOT
from tools import classroom
from tools.book import config, toc_notebooks, toc_pages
from tools.frameworks import derived_notebook, launched_frameworks

REPOSITORY = config()["repository"]


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
    repo, branch = REPOSITORY["url"].removeprefix("https://github.com/"), REPOSITORY["branch"]
    blob = f"{repo}/blob/{branch}"
    blocks = [
        f"{name}\n  Colab: https://colab.research.google.com/github/{blob}/{page}\n"
        f"  SageMaker Studio Lab: https://studiolab.sagemaker.aws/import/github/{blob}/{page}\n"
        for name, page in zip(names, notebooks, strict=True)
    ]
    positions = [readme.find(block) for block in blocks]
    assert -1 not in positions and positions == sorted(positions), readme
