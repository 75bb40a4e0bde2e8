"""The page-length counts, and the limits the chapter's views keep."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tools.book import ROOT
from tools.lesson_size import count_words, markdown_size, page_sizes

CHAPTER = ROOT / "book" / "synthetic-regression-data.md"
SOLUTIONS = ROOT / "book" / "exercises.md"


def test_a_glued_number_a_reference_and_a_formula_are_one_word_each():
    assert count_words("The noise {glue:text}`sigma:.2f` hides $w_1$ in {numref}`fig-x`.") == 7


def test_directive_markup_labels_and_display_math_are_not_words():
    text = textwrap.dedent(
        """\
        (sec-label)=
        ```{note}
        :class: tip
        Two words.
        ```
        $$
        y = Xw + b
        $$
        """
    )
    assert markdown_size(text).words == 2


def test_a_dropdown_note_is_counted_as_collapsed_with_what_it_holds():
    text = textwrap.dedent(
        """\
        Open prose here.
        ::::{note}
        :class: dropdown
        Hidden prose, four words.
        ```python
        x = 1
        ```
        ::::
        After.
        """
    )
    size = markdown_size(text)
    assert (size.words, size.collapsed_words) == (4, 4)
    assert (size.code_lines, size.hidden_code_lines) == (0, 1)


def page(tmp_path: Path, body: str, front: str = "") -> Path:
    md = tmp_path / "page.md"
    md.write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\n    format_version: 0.13\n"
        "kernelspec:\n  name: python3\n  display_name: Python 3\n  language: python\n"
        f"{front}---\n\n{textwrap.dedent(body)}"
    )
    return md


def test_each_view_counts_its_own_prose_and_cells_only(tmp_path):
    md = page(
        tmp_path,
        """\
        Shared words.

        ```{framework} jax
        Only JAX readers read this.
        ```

        ```{code-cell} ipython3
        x = 1
        y = 2
        ```

        ```{code-cell} ipython3
        #@tab jax
        x = 1
        ```

        ```{code-cell} ipython3
        :tags: [hide-input]
        #@tab all
        hidden = True
        ```
        """,
    )
    sizes = page_sizes(md)
    assert (sizes["pytorch", "page"].words, sizes["pytorch", "page"].code_lines) == (2, 2)
    assert (sizes["jax", "page"].words, sizes["jax", "page"].code_lines) == (7, 1)
    assert sizes["mxnet", "page"].hidden_code_lines == 1


def test_sections_start_at_headings_and_at_solutions(tmp_path):
    md = page(
        tmp_path,
        """\
        Intro.

        ## First part
        One two three.

        ```{solution-start} ex-one
        ```
        Answer words here.
        """,
    )
    sizes = page_sizes(md, sections=True)
    assert sizes["pytorch", "page"].words == 1
    assert sizes["pytorch", "First part"].words == 5
    assert sizes["pytorch", "ex-one"].words == 3
