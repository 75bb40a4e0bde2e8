"""What each framework's executed chapter shows: d2l's own numbers where d2l's default path is
reproducible (JAX and MXNet), and d2l's shapes and lengths in all four; and that each
framework's first cell installs nothing in the book's own environment of that framework.

nbval checks that a fresh run reproduces the stored outputs; these tests check that the stored
outputs say what the original section printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from d2lsetup import DEFAULT, FRAMEWORKS, setup_cell
from tests.conftest import ROOT
from tools.colab_smoke import distributions
from tools.frameworks import derived_notebook

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
# MXNet's unseeded check needs a process whose global stream nothing has drawn from yet: it
# runs at the top of the Going Further page.
ORIGINAL_PAGES = {"jax": CHAPTER, "mxnet": ROOT / "book" / "going-further.md"}
# d2l's printed first example, under d2l's defaults (no seed), from the source section
ORIGINAL = {
    "jax": ("[-0.86997527 -3.2320356 ]", "[13.438176]"),
    "mxnet": ("[2.2122064 1.1630787]", "[4.684836]"),
}
# d2l's shapes of a minibatch: PyTorch prints a torch.Size, the others a tuple
SHAPES = {DEFAULT: ("torch.Size([32, 2])", "torch.Size([32, 1])")}


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
    X_shape, y_shape = SHAPES.get(framework, ("(32, 2)", "(32, 1)"))
    assert any(f"X shape: {X_shape}" in text for text in texts), framework
    assert any(f"y shape: {y_shape}" in text for text in texts), framework
    assert "32" in [text.strip() for text in texts], f"{framework}: no loader length of 32"


@pytest.mark.processes
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_first_cell_installs_nothing_in_the_frameworks_own_environment(framework):
    """In the book's environment of a framework the first cell finds everything it needs."""
    venv = ROOT / FRAMEWORKS[framework].environment
    before = distributions(venv)
    result = subprocess.run(
        [venv / "bin" / "python", "-c", setup_cell(framework)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Installing" not in result.stdout and distributions(venv) == before
