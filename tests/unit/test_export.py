"""The exported notebooks (`notebooks/`, made by `make notebooks`): plain Markdown, same code."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

import d2lsetup
from tools import export
from tools.book import toc_notebooks

NOTEBOOKS = toc_notebooks()
EXPORTS = {md: export.exported_path(md) for md in NOTEBOOKS}
ROLE = re.compile(r"\{[A-Za-z][\w:.+-]*\}$")  # a role name right before a code span
TARGET = re.compile(r"^\([^()\s]+\)=$")
GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")
COMMONMARK = MarkdownIt("commonmark")


def myst_leftovers(markdown: str) -> list[str]:
    """The MyST constructs that a CommonMark renderer leaves as text in `markdown`.

    A role renders as its name followed by a code span, a directive as a code block whose
    language is in braces, a colon fence or a `(label)=` target as a paragraph of its own.
    """
    found = []
    for token in COMMONMARK.parse(markdown):
        if token.type == "fence" and token.info.strip().startswith("{"):
            found.append(f"directive {token.info.strip()}")
        if token.type != "inline":
            continue
        for line in token.content.splitlines():
            if line.startswith(":::") or TARGET.match(line.strip()):
                found.append(line)
        children = token.children or []
        for before, after in zip(children, children[1:], strict=False):
            if (
                before.type == "text"
                and after.type == "code_inline"
                and ROLE.search(before.content)
            ):
                found.append(f"role {ROLE.search(before.content)[0]}`{after.content}`")
    return found


def markdown_cells(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_no_myst_is_left_in_the_exported_markdown(md):
    leftovers = [found for cell in markdown_cells(EXPORTS[md]) for found in myst_leftovers(cell)]
    assert leftovers == []


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_the_check_finds_the_myst_of_the_book_notebooks(md):
    """The check above can fail: the book's own notebooks are full of MyST."""
    cells = markdown_cells(md.with_suffix(".ipynb"))
    assert [found for cell in cells for found in myst_leftovers(cell)]


def _stored_glue(md: Path) -> dict[str, str]:
    """The glued text/plain values a book notebook stores, by name."""
    values = {}
    for cell in read(md.with_suffix(".ipynb")).cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if "name" in scrapbook:
                key = scrapbook["mime_prefix"] + "text/plain"
                values[scrapbook["name"]] = output["data"][key]
    return values


def _formatted(text: str, spec: str) -> str:
    """A stored number formatted as its role asks: an integer stays one unless the spec
    asks for a float."""
    if not spec:
        return ast.literal_eval(text) if text[:1] in "'\"" else text  # a glued str is shown bare
    value = int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    return format(float(value) if spec[-1] in "eEfFgG%" else value, spec)


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_number_appears_formatted(md):
    stored = _stored_glue(md)
    text = "\n".join(markdown_cells(EXPORTS[md]))
    roles = [
        r for cell in markdown_cells(md.with_suffix(".ipynb")) for r in GLUE_ROLE.findall(cell)
    ]
    missing = [(key, spec) for key, spec in roles if _formatted(stored[key], spec) not in text]
    assert missing == []


def test_known_sentences_carry_their_glued_numbers():
    md = NOTEBOOKS[0]
    stored = _stored_glue(md)
    text = " ".join(" ".join(markdown_cells(EXPORTS[md])).split())
    noise = format(float(stored["first-noise"]), ".4f")
    assert f"The first label sits {noise} from the noise-free value" in text
    batches, last = stored["scratch-batches"], stored["scratch-last"]
    assert f"That is {batches} minibatches, the last with only {last} examples" in text


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_and_outputs_are_kept(md):
    book = [c for c in read(md.with_suffix(".ipynb")).cells if c.cell_type == "code"]
    ours = [c for c in read(EXPORTS[md]).cells if c.cell_type == "code"]
    assert [(c.source, c.outputs) for c in ours] == [(c.source, c.outputs) for c in book]
    setup = ours[0]
    assert setup.source == d2lsetup.setup_cell() and "hide-cell" in setup.metadata["tags"]
    assert setup.metadata["jupyter"]["source_hidden"] is True


def _solution_labels(md: Path) -> list[str]:
    text = "\n".join(markdown_cells(md.with_suffix(".ipynb")))
    return re.findall(r"^```\{solution(?:-start)?\}\s*(\S+)", text, re.M)


def _dropdowns(md: Path) -> int:
    return "\n".join(markdown_cells(md.with_suffix(".ipynb"))).count(":class: dropdown")


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_and_answer_is_collapsed(md):
    notebook = read(EXPORTS[md])
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    headings = [c for c in markdown if c.metadata.get("jp-MarkdownHeadingCollapsed")]
    details = sum(
        len(re.findall(r"^<details>\n<summary>[^<]+</summary>\n\n", c.source, re.M))
        for c in markdown
    )
    solution_starts = len(
        re.findall(r"\{solution-start\}", json.dumps(read(md.with_suffix(".ipynb")).cells))
    )
    assert len(headings) == solution_starts
    assert details + len(headings) == _dropdowns(md)
    for cell in headings:
        assert re.match(r"^## Solution to \[Exercise \d+\]\(https?://", cell.source)
    collapsed = notebook.metadata.get("colab", {}).get("collapsed_sections", [])
    assert collapsed == [cell.metadata["id"] for cell in headings]


def test_exercises_and_solutions_are_numbered_alike():
    statements = re.findall(
        r"^\*\*(Exercise \d+)\*\*$", "\n".join(markdown_cells(EXPORTS[NOTEBOOKS[0]])), re.M
    )
    solutions_page = next(md for md in NOTEBOOKS if _solution_labels(md))
    solved = re.findall(
        r"Solution to \[(Exercise \d+)\]", "\n".join(markdown_cells(EXPORTS[solutions_page]))
    )
    assert statements == [f"Exercise {n}" for n in range(1, len(statements) + 1)]
    assert solved == statements[: len(solved)] and len(solved) == len(
        _solution_labels(solutions_page)
    )


def _links(text: str) -> list[str]:
    return re.findall(r"\]\((https?://[^)\s]+)\)", text)


def test_references_link_to_the_published_book():
    base = export.book_url()
    links = [
        link
        for md in NOTEBOOKS
        for cell in markdown_cells(EXPORTS[md])
        for link in _links(cell)
        if link.startswith(base)
    ]
    assert len(links) >= 10
    assert all(re.fullmatch(re.escape(base) + r"book/[\w-]+\.html(#[\w-]+)?", u) for u in links)


def test_every_book_link_reaches_a_page_and_anchor_of_the_built_book(built_book):
    base = export.book_url()
    broken = []
    for md in NOTEBOOKS:
        for link in (u for cell in markdown_cells(EXPORTS[md]) for u in _links(cell)):
            if not link.startswith(base):
                continue
            page, _, anchor = link.removeprefix(base).partition("#")
            html = built_book / page
            if not html.exists() or (anchor and f'id="{anchor}"' not in html.read_text()):
                broken.append(link)
    assert broken == []


def test_the_book_url_comes_from_the_config():
    config = {"repository": {"url": "https://github.com/Some-Org/some-book"}}
    assert export.book_url(config) == "https://some-org.github.io/some-book/"
    config["html"] = {"baseurl": "https://example.org/book"}
    assert export.book_url(config) == "https://example.org/book/"


def test_a_repository_that_is_not_on_github_needs_a_baseurl():
    config = {"repository": {"url": "https://gitlab.com/org/book"}}
    with pytest.raises(
        export.ExportError, match=r"repository\.url is 'https://gitlab.com/org/book'"
    ):
        export.book_url(config)


def _page(glue: dict | None = None) -> export.Page:
    book = export.book_index(base_url="https://example.org/")
    return export.Page("book/explorer", glue or {}, book)


def test_an_unknown_role_or_directive_is_an_error_that_names_it():
    with pytest.raises(export.ExportError, match=r"the role \{cite\}"):
        export.convert_markdown("See {cite}`zhang2023`.", _page())
    with pytest.raises(export.ExportError, match=r"the directive \{mermaid\}"):
        export.convert_markdown("```{mermaid}\ngraph TD\n```", _page())


def test_a_missing_glued_value_is_an_error_that_names_it():
    with pytest.raises(export.ExportError, match=r"stores no glued value 'nope'"):
        export.convert_markdown("{glue:text}`nope:.2f`", _page())


def test_code_spans_and_fenced_code_are_left_alone():
    source = "Write `{glue:text}` like this:\n\n```md\n{ref}`label`\n```\n"
    assert export.convert_markdown(source, _page())[0].text == source.strip("\n")


def test_glue_is_formatted_as_the_spec_says():
    page = _page({"x": {"text/plain": "0.123456"}, "n": {"text/plain": "1234567"}})
    text = export.convert_markdown(
        "{glue:text}`x:.2f`, {glue:text}`x:.0%`, {glue:text}`n:,` and {glue:text}`x`", page
    )[0].text
    assert text == "0.12, 12%, 1,234,567 and 0.123456"
