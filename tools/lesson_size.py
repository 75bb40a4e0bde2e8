"""How much a reader of each framework is asked to read on a page.

Each view's prose and open code; collapsed prose (`dropdown`) and code behind a click or never
shown (`hide-*`, `remove-*`) count apart. A glued number, a reference or an inline formula is one
word; display math, directive markup and labels are none.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path

import jupytext
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin as math_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin

from tools import frameworks as fw
from tools.book import display_path

HIDDEN_TAGS = frozenset({"hide-input", "hide-cell", "remove-cell", "remove-input"})
# MyST's blocks as myst-parser reads them: fences, colon fences, targets, comments, $$ math
MYST = MarkdownIt("commonmark").use(colon_fence_plugin).use(myst_block_plugin).use(math_plugin)
DIRECTIVE = re.compile(r"\{([\w:-]+)\}")
OPTION = re.compile(r":([\w-]+):[ \t]*(.*)")
ONE_WORD = re.compile(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$\n]+\$")  # role, literal, formula
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
WORD = re.compile(r"\w[\w'’.-]*")
ROW = "  {:<11} {:<44} {:>6} {:>9} {:>5} {:>6}"


@dataclass
class Size:
    words: int = 0
    collapsed_words: int = 0
    code_lines: int = 0
    hidden_code_lines: int = 0

    def __add__(self, other: Size) -> Size:
        return Size(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def code(text: str, hidden: bool) -> Size:
    lines = sum(1 for line in text.splitlines() if line.strip())
    return Size(hidden_code_lines=lines) if hidden else Size(code_lines=lines)


def markdown_parts(markdown: str, collapsed: bool = False) -> Iterator[tuple[str | None, Size]]:
    """(the section a part opens, or None; its Size) for each block of some prose."""
    tokens = MYST.parse(markdown)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            yield tokens[i + 1].content, Size()
        elif token.type == "inline":
            text = LINK.sub(r"\1", token.content)  # a role, literal or formula is one word
            words = len(ONE_WORD.findall(text)) + len(WORD.findall(ONE_WORD.sub(" ", text)))
            yield None, Size(collapsed_words=words) if collapsed else Size(words=words)
        elif token.type in ("fence", "colon_fence"):
            name = DIRECTIVE.fullmatch(token.info.split(" ")[0].strip())
            name, lines = name[1] if name else "", token.content.splitlines()
            if name == "solution-start":
                yield token.info.split()[-1], Size()
            elif not name or name in ("code", "code-block"):
                yield None, code(token.content, collapsed)
            elif name != "math":
                options = [OPTION.fullmatch(line.strip()) for line in lines]
                start = next((i for i, o in enumerate(options) if not o), len(lines))
                dropdown = any(o[1] == "class" and "dropdown" in o[2] for o in options[:start])
                hidden = collapsed or dropdown or name == "dropdown"
                yield from markdown_parts("\n".join(lines[start:]), hidden)


def page_sizes(md: Path, sections: bool = False) -> dict[tuple[str, str], Size]:
    """(framework, section) -> Size for every view of a page; one section, "page", unless
    `sections` splits it at each `##` heading and solution."""
    source = jupytext.read(md, fmt="md:myst")
    views = fw.source_frameworks(source)
    everyone = fw.pytorch_for_all(source)  # a default cell is every view's
    sizes = {(view, "page"): Size() for view in views}
    current = dict.fromkeys(views, "page")
    for cell, view in itertools.product(source.cells, views):
        shown = fw.cell_frameworks(cell) if cell.cell_type == "code" else ()
        if cell.cell_type == "markdown":
            parts = list(markdown_parts(fw.prose_for(cell.source, view)))
        elif view in shown or (everyone and shown == (fw.DEFAULT,)):
            hidden = bool(HIDDEN_TAGS & set(cell.metadata.get("tags", [])))
            parts = [(None, code(fw.without_tab_line(cell.source), hidden))]
        else:
            continue
        for section, size in parts:
            current[view] = section if sections and section else current[view]
            sizes[view, current[view]] = sizes.get((view, current[view]), Size()) + size
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--sections", action="store_true", help="count each ## section apart")
    args = parser.parse_args(argv)
    for page in args.pages:
        if not page.is_file():
            parser.error(f"pages: {page} is not a file; expected a page such as book/intro.md")
        print(display_path(page.resolve()))
        print(ROW.format("view", "section", "words", "collapsed", "code", "hidden"))
        for (framework, section), size in page_sizes(page.resolve(), args.sections).items():
            print(ROW.format(framework, section[:44], *astuple(size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
