"""The page-length counts the chapter's limits are checked with (tests/unit/test_chapter_lesson)."""

from __future__ import annotations

import pytest

from tools.lesson_size import Size, page_sizes

DROPDOWN = """\
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
MARKUP = "(sec-label)=\n```{note}\n:class: tip\nTwo words.\n```\n$$\ny = Xw + b\n$$\n% a comment\n"
PAGE = """\
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

## First part
One two three.

```{code-cell} ipython3
:tags: [hide-input]
#@tab all
hidden = True
```

```{solution-start} ex-one
```
Answer words here.
"""


@pytest.mark.parametrize(
    ("prose", "expected"),
    [
        # a glued number, a reference and a formula are one word each
        ("The noise {glue:text}`sigma:.2f` hides $w_1$ in {numref}`fig-x`.", Size(words=7)),
        ("See [the intro](intro.md), then:\n\n1. `x = 1` here", Size(words=6)),
        (MARKUP, Size(words=2)),  # labels, options, display math and comments are no words
        (DROPDOWN, Size(words=4, collapsed_words=4, hidden_code_lines=1)),
        ("```{code-block} python\na = 1\n\nb = 2\n```", Size(code_lines=2)),
    ],
    ids=["roles-literals-formulas", "links-and-lists", "markup", "dropdown", "code-block"],
)
def test_prose_is_counted_as_a_reader_reads_it(tmp_path, prose, expected):
    (md := tmp_path / "page.md").write_text(prose)
    assert page_sizes(md) == {("pytorch", "page"): expected}


def test_each_view_counts_its_own_prose_and_cells_in_sections_at_headings_and_solutions(tmp_path):
    (md := tmp_path / "page.md").write_text(PAGE)
    sizes = page_sizes(md)
    assert sizes["pytorch", "page"] == Size(words=10, code_lines=2, hidden_code_lines=1)
    assert sizes["jax", "page"] == Size(words=15, code_lines=1, hidden_code_lines=1)
    assert sizes["mxnet", "page"] == Size(words=10, hidden_code_lines=1)
    sections = page_sizes(md, sections=True)
    assert {section: size for (view, section), size in sections.items() if view == "jax"} == {
        "page": Size(words=7, code_lines=1),
        "First part": Size(words=5, hidden_code_lines=1),
        "ex-one": Size(words=3),
    }
