"""The exported notebooks (`notebooks/`): plain Markdown, the same code, the glued values; and
the exporter's conversions, from a small stand-in for Sphinx's environment of the book."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from types import SimpleNamespace

import nbformat
import pytest
from docutils import nodes
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role import myst_role_plugin

import d2lsetup
from tools import export
from tools.book import ROOT, toc_notebooks

NOTEBOOKS = toc_notebooks()
MYST = MarkdownIt("commonmark").use(myst_role_plugin).use(colon_fence_plugin)
MYST.use(myst_block_plugin)


def cells(path, kind="markdown") -> list:
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == kind]


def text(path) -> str:
    return "\n".join(cell.source for cell in cells(path))


def myst(path) -> list[tuple[str, str]]:
    """The MyST of a notebook's Markdown, as MyST's parser finds it: (role, content), and
    (block type, info) for directives, colon fences and targets."""
    blocks = [token for cell in cells(path) for token in MYST.parse(cell.source)]
    inline = [child for token in blocks for child in token.children or []]
    roles = [(token.meta["name"], token.content) for token in inline if token.type == "myst_role"]
    kinds = ("colon_fence", "myst_target")
    directives = [t for t in blocks if t.type in kinds or t.info.startswith("{")]
    return roles + [(token.type, token.info) for token in directives]


def stored_glue(md) -> dict[str, str]:
    outputs = [o for cell in cells(md.with_suffix(".ipynb"), "code") for o in cell.outputs]
    scraps = [
        (o.metadata.scrapbook, o.data) for o in outputs if "scrapbook" in o.get("metadata", {})
    ]
    return {s["name"]: data[s["mime_prefix"] + "text/plain"] for s, data in scraps}


def formatted(text: str, spec: str) -> str:
    """A stored number as its role asks: an integer stays one unless the spec asks for a float;
    a glued str is shown bare."""
    if not spec:
        return ast.literal_eval(text) if text[:1] in "'\"" else text
    value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    return format(float(value) if spec[-1] in "eEfFgG%" else value, spec)


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_each_export_keeps_code_outputs_and_numbers_without_myst_and_folds_solutions(md):
    book, exported = md.with_suffix(".ipynb"), export.exported_path(md)
    assert myst(book) and not myst(exported)
    ours, theirs = cells(exported, "code"), cells(book, "code")
    assert [(c.source, c.outputs) for c in ours] == [(c.source, c.outputs) for c in theirs]
    assert ours[0].source == d2lsetup.setup_cell() and "hide-cell" in ours[0].metadata["tags"]
    assert ours[0].metadata["jupyter"]["source_hidden"] is True
    markdown = cells(exported)
    prose, stored = "\n".join(c.source for c in markdown), stored_glue(md)
    roles = [c.partition(":")[::2] for n, c in myst(book) if n == "glue:text"]
    assert [(k, spec) for k, spec in roles if formatted(stored[k], spec) not in prose] == []
    headings = [c for c in markdown if c.metadata.get("jp-MarkdownHeadingCollapsed")]
    details = len(re.findall(r"^<details>\n<summary>[^<]+</summary>\n\n", prose, re.M))
    assert len(headings) == text(book).count("{solution-start}")
    assert details + len(headings) == text(book).count(":class: dropdown")
    assert all(re.match(r"## Solution to \[Exercise \d+\]\(https?://", c.source) for c in headings)
    collapsed = nbformat.read(exported, 4).metadata.get("colab", {}).get("collapsed_sections", [])
    assert collapsed == [cell.metadata["id"] for cell in headings]


def test_sentences_carry_their_glued_numbers_and_exercises_and_solutions_theirs():
    exported = {md.stem: text(export.exported_path(md)) for md in NOTEBOOKS}
    chapter, stored = " ".join(exported[NOTEBOOKS[0].stem].split()), stored_glue(NOTEBOOKS[0])
    noise = format(float(stored["first-noise"]), ".4f")
    assert f"The first label sits {noise} from the noise-free value" in chapter
    batches, last = stored["scratch-batches"], stored["scratch-last"]
    assert f"That is {batches} minibatches, the last with only {last} examples" in chapter
    statements = re.findall(r"^\*\*(Exercise \d+)\*\*$", exported[NOTEBOOKS[0].stem], re.M)
    count = text(NOTEBOOKS[0].with_suffix(".ipynb")).count("{exercise}")
    assert statements == [f"Exercise {n}" for n in range(1, count + 1)]
    solved = re.findall(r"Solution to \[(Exercise \d+)\]", exported["exercises"])
    assert solved == statements[: text(ROOT / "book/exercises.ipynb").count("{solution-start}")]


ENV = SimpleNamespace(  # what the exporter reads of Sphinx's environment of the book
    config=SimpleNamespace(html_baseurl="u", numfig_format={"figure": "F %s", "exercise": "Ex %s"}),
    titles={"a": nodes.title("", "Page A"), "b/c": nodes.title("", "Page C")},
    domaindata={
        "std": {
            "labels": {"s": ("b/c", "s", "Sec"), "f": ("b/c", "f", "")},
            "anonlabels": {"e": ("a", "e")},
        }
    },
    toc_fignumbers={"b/c": {"figure": {"f": (3,)}}, "a": {"exercise": {"e": (2,)}}},
    sphinx_exercise_registry={"e": {"type": "exercise", "docname": "a"}},
)
BOOK = replace(export.book_index(ENV), docname="b/d", glue={"x": "0.123456", "n": "1234567"})


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{glue:text}`x:.2f`, {glue:text}`x:.0%`, {glue:text}`n:,`", ["0.12, 12%, 1,234,567"]),
        ("`{glue:text}` in:\n\n```md\n{ref}`s`\n```", None),  # code is left as it is
        ("{ref}`s`, {ref}`it <s>`", ["[Sec](u/b/c.html#s), [it](u/b/c.html#s)"]),
        ("{numref}`f`, {ref}`e`", ["[F 3](u/b/c.html#f), [Ex 2](u/a.html#e)"]),
        ("{doc}`c`, {doc}`it </a>`", ["[Page C](u/b/c.html), [it](u/a.html)"]),
        ("(t)=\n% note\n```{note}\n*N*\n```", ["> **Note**\n>\n> *N*"]),
        (
            "```{tip} T\n:class: dropdown\n\nHi\n```",
            ["<details>\n<summary>T</summary>\n\nHi\n\n</details>"],
        ),
        ("````{exercise}\n:label: e\n\nDo it.\n````", ["**Ex 2**\n\nDo it."]),
        ("A\n```{solution-start} e\n```\nB", ["A", "## Solution to [Ex 2](u/a.html#e)", "B"]),
    ],
)
def test_conversions(source, expected):
    assert export.convert_markdown(source, BOOK) == (expected or [source])


@pytest.mark.parametrize(
    "source, error",
    [
        ("See {cite}`zhang2023`.", r"the role \{cite\} has no plain-Markdown form"),
        ("```{mermaid}\ngraph TD\n```", r"the directive \{mermaid\} has no plain-Markdown form"),
        ("{glue:text}`nope:.2f`", r"b/d.ipynb stores no glued value 'nope'"),
        ("{ref}`none`", r"\{ref\}`none`: no page of the book defines the label 'none'"),
        ("{numref}`s`", r"\{numref\}`s`: 's' is not numbered"),
        ("{doc}`z`", r"\{doc\}`z`: no page 'b/z' in _toc.yml"),
    ],
)
def test_what_has_no_plain_form_is_an_error_that_names_it(source, error):
    with pytest.raises(export.ExportError, match=error):
        export.convert_markdown(source, BOOK)


def test_the_book_address_is_needed():
    env = SimpleNamespace(**{**vars(ENV), "config": SimpleNamespace(html_baseurl="")})
    with pytest.raises(export.ExportError, match=r"_config.yml: html\.baseurl is empty"):
        export.book_index(env)
