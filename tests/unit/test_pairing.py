"""Editing in JupyterLab flows one way, from a page's `.md` to its notebook: neither is paired
with the other, so jupytext's contents manager, through which Lab saves, writes only one."""

from __future__ import annotations

import json
import re
import shutil

import jupytext
import nbformat

from tests.conftest import ROOT
from tools.__main__ import lab_command
from tools.book import toc_notebooks

PAIRING = re.compile(r"^  formats: ", re.M)  # the header line that would pair a page


def test_no_page_or_notebook_is_paired():
    pages = [md.name for md in toc_notebooks() if PAIRING.search(md.read_text())]
    notebooks = [
        path.name
        for path in sorted((ROOT / "book").glob("*.ipynb"))
        if "formats" in json.loads(path.read_text())["metadata"].get("jupytext", {})
    ]
    assert pages == notebooks == [], "drop the `formats:` line from these files' jupytext header"


def test_lab_opens_pages_as_notebooks_and_saving_writes_only_the_file_saved(tmp_path):
    overrides = json.loads((ROOT / "lab-settings" / "overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"
    assert f"--LabApp.app_settings_dir={ROOT / 'lab-settings'}" in lab_command()
    page = toc_notebooks()[0]
    md, ipynb = tmp_path / page.name, tmp_path / page.with_suffix(".ipynb").name
    shutil.copy(page, md)
    shutil.copy(page.with_suffix(".ipynb"), ipynb)
    manager = jupytext.TextFileContentsManager(root_dir=str(tmp_path))
    for saved, other in [(ipynb, md), (md, ipynb)]:
        before, model = other.read_bytes(), manager.get(saved.name)
        assert model["type"] == "notebook"  # Lab opens the page as a notebook
        notebook = nbformat.from_dict(model["content"])
        next(cell for cell in notebook.cells if cell.cell_type == "code").source += "\n# edited"
        manager.save({"type": "notebook", "content": notebook}, saved.name)
        assert "# edited" in saved.read_text() and other.read_bytes() == before
    assert jupytext.read(md).metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert not PAIRING.search(md.read_text())
