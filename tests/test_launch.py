"""Launching the notebooks elsewhere: setup cells, launch links and the Colab-like run."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import jupytext
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
    """The book's pages with a paired .ipynb, in `_toc.yml` order, read here from the file."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"], *_toc_files(toc)]
    return [f"{page}.ipynb" for page in pages if (ROOT / f"{page}.ipynb").is_file()]


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


def _pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements or constraints file, by canonical name."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        versions = [spec.version for spec in requirement.specifier if spec.operator == "=="]
        if versions:
            pins[canonicalize_name(requirement.name)] = versions[0]
    return pins


def _setup_cell_pins(md: Path) -> dict[str, str]:
    """The `name==version` strings of the setup cell's REQUIREMENTS, by canonical name."""
    tree = ast.parse(setup_cell(md).source)
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets] == ["REQUIREMENTS"]
    )
    pins = {}
    for value in table.values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            requirement = Requirement(value.value)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{md.name}: {value.value} is not a pin"
            pins[canonicalize_name(requirement.name)] = spec.version
    return pins


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_pins_match_the_environment(md):
    cell = _setup_cell_pins(md)
    assert {"d2l", "anywidget", "psygnal"} <= set(cell)
    nodeps = _pins(ROOT / "requirements-nodeps.txt")
    constraints = _pins(ROOT / "constraints.txt")
    assert cell["d2l"] == nodeps["d2l"]
    for name in set(cell) - {"d2l"}:
        assert cell[name] == constraints[name], f"{name} in {md.name} vs constraints.txt"


@pytest.mark.colab
def test_notebooks_run_in_a_colab_like_environment():
    result = colab_smoke.run()
    assert result.executed == [md.with_suffix(".ipynb").name for md in NOTEBOOKS]
    assert result.versions_before == result.versions_after
    assert {"d2l", "d2lsave"} <= set(result.installed_by_setup)
    assert "myst_nb" not in result.installed_by_setup
    assert "anywidget" in result.installed_by_setup
