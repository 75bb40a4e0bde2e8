"""What each framework's executed chapter shows: d2l's own numbers where d2l's default path is
reproducible (JAX and MXNet), and d2l's shapes and lengths in all four.

nbval checks that a fresh run reproduces the stored outputs; these tests check that the stored
outputs say what the original section printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT
from tools.frameworks import FRAMEWORKS, derived_notebook
from tools.setup_cell import SETUP_CELLS

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
# MXNet's unseeded check needs a process whose global stream nothing has drawn from yet: it
# runs at the top of the Going Further page.
ORIGINAL_PAGES = {"jax": CHAPTER, "mxnet": ROOT / "book" / "going-further.md"}
# d2l's printed first example, under d2l's defaults (no seed), from the source section
ORIGINAL = {
    "jax": ("[-0.86997527 -3.2320356 ]", "[13.438176]"),
    "mxnet": ("[2.2122064 1.1630787]", "[4.684836]"),
}
SHAPES = {
    "pytorch": ("torch.Size([32, 2])", "torch.Size([32, 1])"),
    "jax": ("(32, 2)", "(32, 1)"),
    "tensorflow": ("(32, 2)", "(32, 1)"),
    "mxnet": ("(32, 2)", "(32, 1)"),
}


def text_outputs(framework: str, page: Path = CHAPTER) -> list[str]:
    notebook = nbformat.read(derived_notebook(page, framework), as_version=4)
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                texts.append(output["text"])
            elif "text/plain" in output.get("data", {}):
                texts.append(output["data"]["text/plain"])
    return texts


@pytest.mark.parametrize("framework", sorted(ORIGINAL))
def test_the_default_path_prints_the_originals_first_example(framework):
    features, label = ORIGINAL[framework]
    texts = text_outputs(framework, ORIGINAL_PAGES[framework])
    matching = [text for text in texts if features in text and "match: True" in text]
    assert matching, f"{framework}: no output shows {features} and a match"
    assert any(label in text for text in texts)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_originals_shapes_and_length_hold(framework):
    texts = text_outputs(framework)
    X_shape, y_shape = SHAPES[framework]
    assert any(f"X shape: {X_shape}" in text for text in texts), framework
    assert any(f"y shape: {y_shape}" in text for text in texts), framework
    assert "32" in [text.strip() for text in texts], f"{framework}: no loader length of 32"


COLAB_PYTHON = Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python"


@pytest.mark.processes
def test_the_mxnet_notebook_says_where_it_runs_on_colabs_python():
    """On Python 3.13 (Colab's), the installer the MXNet notebook's first cell calls stops
    with the local path, before it installs anything."""
    python = COLAB_PYTHON if COLAB_PYTHON.exists() else None
    if python is None:
        pytest.skip("no Python 3.13 from pyenv on this machine")
    result = subprocess.run(
        [str(python), "-c", "import d2lsetup; d2lsetup.install_missing('mxnet')"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode != 0
    assert "MXNet 1.9.1 needs Python <= 3.11 and numpy < 1.24" in result.stderr
    assert "requirements-mxnet.txt" in result.stderr
    assert "Installing" not in result.stdout


@pytest.mark.processes
def test_the_mxnet_notebook_setup_changes_nothing_in_its_environment():
    """In the MXNet environment the first cell finds everything and installs nothing."""
    python = ROOT / ".venv-mxnet" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: `make env` creates it")
    before = subprocess.run(
        [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    result = subprocess.run(
        [str(python), "-c", SETUP_CELLS["mxnet"]], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Installing" not in result.stdout
    after = subprocess.run(
        [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    assert after == before
