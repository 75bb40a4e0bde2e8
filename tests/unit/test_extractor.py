"""The `#@save` extractor on small pages written for each rule."""

from __future__ import annotations

import math
import sys
import types

import pytest

from tools.extract_saved import SaveError, _section_note, read_notebook, render_module

HEADER = "# A Page\n\n## A Section\n"  # jupytext reads the page as MyST
CELLS = [
    "%matplotlib inline\nimport math\nfrom d2l import torch as d2l\nfrom d2lsave import check",
    'def area(  #@save\n    r,\n):\n    """Area of a circle."""\n    return math.pi * r**2\n\n\n'
    "def unsaved():\n    return 1",
    "#@save\nSCALE = 3\n\n\ndef scaled(x):\n    return SCALE * check(x)",
    "class A:  #@save\n    pass",
    '@d2l.add_to_class(A)  #@save\ndef hello(self):\n    return "hi"',
    "#@save\nSQUARES = [k * k for k in range(4)]\nLAST = [(last := k) for k in range(3)]\n"
    "DOUBLE = lambda value: 2 * value  # noqa: E731",
]


def module(tmp_path, *cells: str, defined_in: dict[str, str] | None = None) -> str:
    """The module the extractor makes of a page of these code cells."""
    body = "".join(f"```{{code-cell}} ipython3\n{cell}\n```\n\n" for cell in cells)
    (tmp_path / "page.md").write_text(f"{HEADER}\n{body}")
    return render_module(read_notebook(tmp_path / "page.md"), defined_in or {})


def test_marked_code_becomes_a_module_with_its_imports_and_sections(tmp_path, monkeypatch):
    d2l = types.SimpleNamespace(add_to_class=lambda cls: lambda f: setattr(cls, f.__name__, f))
    monkeypatch.setitem(sys.modules, "d2l", types.SimpleNamespace(torch=d2l))  # without torch
    monkeypatch.setitem(sys.modules, "d2lsave.checks", types.SimpleNamespace(check=abs))
    code = module(tmp_path, *CELLS, defined_in={"check": "checks"})
    assert "def area(\n" in code and "class A:\n" in code  # without their marks
    assert "from d2lsave.checks import check" in code
    namespace: dict = {}
    exec(code, namespace)
    public = ["area", "SCALE", "scaled", "A", "SQUARES", "LAST", "last", "DOUBLE"]
    assert namespace["__all__"] == public  # neither `unsaved`, `hello` nor `k` nor `value`
    assert "unsaved" not in namespace
    area, scaled = namespace["area"], namespace["scaled"]
    assert area(1) == math.pi and scaled(-2) == 6 and namespace["A"]().hello() == "hi"
    section = f"Defined in A Page > A Section ({tmp_path / 'page.md'})."
    docs = [" ".join(function.__doc__.split()) for function in (area, scaled)]
    assert docs == [f"Area of a circle. {section}", section]


@pytest.mark.parametrize(
    ("cell", "error"),
    [
        ("#@save\ndef f():\n    return 1\n%timeit f()", "a #@save cell holds IPython syntax"),
        ("#@save\n!pip list", "a #@save cell holds IPython syntax"),
        ("#@save\nfiles = !ls", "a #@save cell holds IPython syntax"),
        ("def f():  #@save\n    return numpy.zeros(1)", "saved code uses numpy, which neither"),
        ("def f():\n    y = 1  #@save\n    return y", "the #@save on line 2 marks no top-level"),
        ("def f(\n    a=1,\n):\n    return a  #@save", "the #@save on line 4 marks no top-level"),
        ("def f(): return 1  #@save", "put the body of f on lines of its own"),
        ("def f(:  #@save\n    pass", "cannot parse the cell"),
    ],
)
def test_a_cell_that_cannot_be_saved_is_named_with_the_reason(tmp_path, cell, error):
    with pytest.raises(SaveError, match=rf"page\.md, cell 2: {error}"):
        module(tmp_path, "x = 1", cell)


def test_the_section_note_wraps_at_spaces_only_and_never_splits_the_path():
    path = "book/a-page-with-a-rather-long-hyphenated-name.md"
    for length in range(40, 100, 3):
        heading = ("Well-known " * 20)[:length].strip()
        lines = _section_note(heading, path, 70).splitlines()
        assert " ".join(lines) == f"Defined in {heading} ({path})."
        assert f"({path})." in lines[-1] and max(map(len, lines)) <= 70
