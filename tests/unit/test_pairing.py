"""The pairing flows one way in JupyterLab too: from the `.md` (the source) to the `.ipynb`.

JupyterLab saves through jupytext's contents manager, which writes every format a notebook's
metadata pairs it with. These tests save copies of a page through that contents manager.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest
from jupyterlab_server.settings_utils import _get_overrides

from tests.conftest import ROOT
from tools import execute
from tools.__main__ import lab_command
from tools.book import toc_notebooks

PAGE = toc_notebooks()[0]
PAIRING = re.compile(r"^  formats: .*\n", re.M)  # the header line that pairs a page


def unpaired_header(text: str) -> str:
    """A page's text with the pairing line dropped from its jupytext header."""
    return PAIRING.sub("", text, count=1)


def contents_manager(root: Path):
    """jupytext's contents manager, as JupyterLab's server uses it, on `root`."""
    return jupytext.TextFileContentsManager(root_dir=str(root))


def edited(model: dict) -> dict:
    """A notebook model as Lab sends it after the author changed the first code cell."""
    notebook = nbformat.from_dict(model["content"])
    cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
    cell.source += "\nprint('edited in Lab')"
    return {"type": "notebook", "content": notebook}


@pytest.fixture(params=["header as committed", "header without pairing"])
def md(request, tmp_path) -> Path:
    """A copy of a page and of the `.ipynb` that `make notebooks` derives from it."""
    md = tmp_path / PAGE.name
    text = PAGE.read_text()
    md.write_text(text if request.param == "header as committed" else unpaired_header(text))
    shutil.copy(PAGE.with_suffix(".ipynb"), md.with_suffix(".ipynb"))
    execute.write(md, execute.sync(md))
    return md


def test_saving_the_notebook_in_lab_never_rewrites_the_markdown(md):
    before = md.read_bytes()
    manager = contents_manager(md.parent)
    name = md.with_suffix(".ipynb").name
    manager.save(edited(manager.get(name)), name)
    assert "edited in Lab" in md.with_suffix(".ipynb").read_text()
    assert md.read_bytes() == before


def test_the_derived_notebook_carries_no_pairing(md):
    metadata = nbformat.read(md.with_suffix(".ipynb"), as_version=4).metadata
    assert "formats" not in metadata.get("jupytext", {})


def test_saving_the_markdown_in_lab_writes_only_the_markdown(tmp_path):
    md = tmp_path / PAGE.name
    md.write_text(unpaired_header(PAGE.read_text()))
    shutil.copy(PAGE.with_suffix(".ipynb"), md.with_suffix(".ipynb"))
    derived = md.with_suffix(".ipynb").read_bytes()
    manager = contents_manager(tmp_path)
    model = manager.get(md.name)
    assert model["type"] == "notebook"  # Lab opens the page as a notebook
    manager.save(edited(model), md.name)
    assert "edited in Lab" in md.read_text()
    assert md.with_suffix(".ipynb").read_bytes() == derived
    # what Lab wrote is still a page of the book: a MyST notebook, not paired
    assert jupytext.read(md).metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert not PAIRING.search(md.read_text().split("\n---", 1)[0])


def test_a_paired_header_would_let_lab_write_the_notebook(tmp_path):
    """Why the pages' headers must not pair: the contents manager follows the pairing."""
    md = tmp_path / PAGE.name
    md.write_text(PAGE.read_text() if PAIRING.search(PAGE.read_text()) else _paired(PAGE))
    manager = contents_manager(tmp_path)
    manager.save(edited(manager.get(md.name)), md.name)
    assert "edited in Lab" in md.with_suffix(".ipynb").read_text()


def _paired(md: Path) -> str:
    """A page's text with the pairing line its header used to carry."""
    return md.read_text().replace("jupytext:\n", "jupytext:\n  formats: ipynb,md:myst\n", 1)


def test_no_page_pairs_itself_with_its_notebook():
    paired = [md.name for md in toc_notebooks() if PAIRING.search(md.read_text())]
    assert paired == [], "drop the `formats:` line from these pages' jupytext headers"


def test_lab_opens_pages_as_notebooks():
    overrides, error = _get_overrides(str(ROOT / "lab-settings"))
    assert error == ""
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"
    assert f"--LabApp.app_settings_dir={ROOT / 'lab-settings'}" in lab_command()
