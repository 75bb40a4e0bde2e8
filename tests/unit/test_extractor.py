"""The `#@save` extractor on small notebooks written for each rule."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from tools.extract_saved import SaveError, read_notebook, render_module

HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A Page

## A Section
"""


def notebook(tmp_path, *cells: str):
    body = "\n".join(
        f"```{{code-cell}} ipython3\n{textwrap.dedent(c).strip()}\n```\n" for c in cells
    )
    path = tmp_path / "page.md"
    path.write_text(HEADER + "\n" + body)
    return path


def saved_from(tmp_path, *cells: str):
    """What the extractor reads from a notebook made of these code cells."""
    return read_notebook(notebook(tmp_path, *cells))


def test_a_marked_definition_is_saved_with_its_section(tmp_path):
    saved = saved_from(
        tmp_path,
        "import math",
        '''
        def area(r):  #@save
            """Area of a circle."""
            return math.pi * r**2

        def unsaved():
            return 1
    ''',
    )
    module = render_module(saved, {})
    assert "def area" in module and "def unsaved" not in module
    assert "import math" in module
    assert "Defined in A Page > A Section" in module
    assert "def area(r):\n" in module  # the mark itself is not copied


def test_a_marked_line_alone_saves_the_whole_cell(tmp_path):
    saved = saved_from(
        tmp_path,
        """
        #@save
        SCALE = 3
        def f(x):
            return SCALE * x
    """,
    )
    namespace = {}
    exec(render_module(saved, {}), namespace)
    assert namespace["f"](2) == 6
    assert namespace["__all__"] == ["SCALE", "f"]


def test_a_function_without_docstring_gains_one(tmp_path):
    saved = saved_from(tmp_path, "def g():  #@save\n    return 1")
    namespace = {}
    exec(render_module(saved, {}), namespace)
    assert "A Section" in namespace["g"].__doc__


@pytest.mark.parametrize("line", ["%timeit f()", "!pip list", "files = !ls"])
def test_a_magic_in_a_saved_cell_is_rejected_with_its_cell(tmp_path, line):
    path = notebook(tmp_path, "x = 1", f"#@save\ndef f():\n    return 1\n{line}")
    with pytest.raises(SaveError, match=r"page\.md, cell \d+: .*IPython syntax"):
        read_notebook(path)


def test_a_magic_in_an_unsaved_cell_is_fine(tmp_path):
    saved = saved_from(
        tmp_path,
        "%matplotlib inline\nimport math",
        """
        def f():  #@save
            return math.e
    """,
    )
    assert "import math" in render_module(saved, {})


def test_a_name_no_import_provides_is_an_error(tmp_path):
    saved = saved_from(tmp_path, "def f():  #@save\n    return numpy.zeros(1)")
    with pytest.raises(SaveError, match="numpy"):
        render_module(saved, {})


def test_a_mark_on_no_statement_is_an_error(tmp_path):
    path = notebook(tmp_path, "x = [\n    1,\n]\ndef f():\n    y = 1  #@save\n    return y")
    with pytest.raises(SaveError, match="marks no top-level statement"):
        read_notebook(path)


def test_registrations_are_kept_but_not_exported(tmp_path, monkeypatch):
    def add_to_class(cls):  # d2l's decorator, without importing torch for it
        return lambda method: setattr(cls, method.__name__, method)

    d2l = types.ModuleType("d2l")
    d2l.torch = types.SimpleNamespace(add_to_class=add_to_class)
    monkeypatch.setitem(sys.modules, "d2l", d2l)
    saved = saved_from(
        tmp_path,
        "from d2l import torch as d2l",
        """
        class A:  #@save
            pass
    """,
        """
        @d2l.add_to_class(A)  #@save
        def hello(self):
            return "hi"
    """,
    )
    module = render_module(saved, {})
    assert "@d2l.add_to_class(A)" in module
    assert "from d2l import torch as d2l" in module
    namespace = {}
    exec(module, namespace)
    assert namespace["__all__"] == ["A"]
    assert namespace["A"]().hello() == "hi"


def test_imports_from_the_package_point_at_the_defining_module(tmp_path):
    saved = saved_from(
        tmp_path,
        "from d2lsave import check_integer",
        """
        def f(n):  #@save
            return check_integer("n", n, 0)
    """,
    )
    module = render_module(saved, {"check_integer": "synthetic_regression_data"})
    assert "from d2lsave.synthetic_regression_data import check_integer" in module


@pytest.mark.parametrize(
    ("cell", "name", "value"),
    [
        ("def f(): return 1  #@save", "f", 1),
        ('def f(x="é"): return x  #@save', "f", "é"),
        ("async def f(): return 1  #@save", "f", None),
        ("class A: pass  #@save", "A", None),
        ("def f(\n    a=1,\n): return a  #@save", "f", 1),
        ('def f(): "Say one."; return 1  #@save', "f", 1),
    ],
    ids=["def", "non-ascii", "async", "class", "long header", "docstring"],
)
def test_a_one_line_definition_can_be_saved(tmp_path, cell, name, value):
    module = render_module(saved_from(tmp_path, cell, "def unsaved(): return 2"), {})
    namespace = {}
    exec(module, namespace)
    assert namespace["__all__"] == [name]
    assert "A Section" in namespace[name].__doc__
    if value is not None:
        assert namespace[name]() == value


def test_a_mark_on_the_body_line_of_a_definition_is_still_an_error(tmp_path):
    path = notebook(tmp_path, "def f(\n    a=1,\n):\n    return a  #@save")
    with pytest.raises(SaveError, match="marks no top-level statement"):
        read_notebook(path)


@pytest.mark.parametrize("heading_length", range(40, 100, 6))
def test_the_section_note_never_splits_the_path(tmp_path, heading_length):
    page = tmp_path / "a-page-with-a-rather-long-hyphenated-name.md"
    heading = ("Well-known " * 20)[:heading_length].strip()
    page.write_text(
        HEADER.replace("## A Section", f"## {heading}")
        + "\n```{code-cell} ipython3\ndef f():  #@save\n    return 1\n```\n"
    )
    saved = read_notebook(page)
    note = " ".join(line.strip() for line in saved.blocks[0].code.splitlines()[1:-2])
    assert f"({saved.relpath})." in saved.blocks[0].code
    assert "Well-known" in note and "Well- known" not in note


def test_names_bound_inside_a_comprehension_are_not_exported(tmp_path):
    saved = saved_from(
        tmp_path,
        """
        #@save
        SQUARES = [k * k for k in range(4)]
        TABLE = {name: len(name) for name in ("a", "bc")}
        LAST = [(last := k) for k in range(3)]
        DOUBLE = lambda value: 2 * value  # noqa: E731
        """,
    )
    assert saved.blocks[0].public_names == ["SQUARES", "TABLE", "LAST", "last", "DOUBLE"]
