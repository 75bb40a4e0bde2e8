"""How much a reader of each framework is asked to read on a page.

A page is written once for four frameworks, so its length is a property of each framework's
view, not of the source: the prose that view shows (its own `framework` blocks, no other's),
and the code cells it shows open. Prose inside a collapsed note (`:class: dropdown`, or a
`dropdown` directive) is counted apart, as are code cells a reader has to click to see
(`hide-input`, `hide-cell`) or never sees (`remove-cell`, `remove-input`), the page's setup
cell among them. `--sections` splits the counts at each `##` heading and each solution
(`solution-start`), which is how the solutions' answers are measured.

Words are what a reader reads as words: a glued number, a cross-reference or an inline
formula counts as one; display math, directive markup and labels count as none.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

from tools.book import display_path
from tools.frameworks import (
    DEFAULT,
    FRAMEWORKS,
    cell_frameworks,
    is_multi_framework,
    prose_for,
    pytorch_for_all,
    without_tab_line,
)

HIDDEN_TAGS = frozenset({"hide-input", "hide-cell", "remove-cell", "remove-input"})
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>\S*)")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
INLINE_CODE = re.compile(r"`[^`]*`")
INLINE_MATH = re.compile(r"\$[^$\n]+\$")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
LABEL = re.compile(r"^\([\w-]+\)=\s*$")
WORD = re.compile(r"[\w][\w'’.-]*")
SECTION = re.compile(
    r"^(?:## +(?P<heading>.+?)|`{3,}\{solution-start\}\s*(?P<solution>\S+))\s*$", re.M
)


@dataclass
class Size:
    """What one framework's reader meets in one part of a page."""

    words: int = 0
    collapsed_words: int = 0
    code_lines: int = 0
    hidden_code_lines: int = 0

    def add(self, other: Size) -> None:
        self.words += other.words
        self.collapsed_words += other.collapsed_words
        self.code_lines += other.code_lines
        self.hidden_code_lines += other.hidden_code_lines


def count_words(line: str) -> int:
    """The words of one line of prose, each role, inline literal and formula as one."""
    line = LINK.sub(r"\1", line)
    tokens = len(ROLE.findall(line)) + len(INLINE_CODE.findall(ROLE.sub(" ", line)))
    line = INLINE_CODE.sub(" ", ROLE.sub(" ", line))
    tokens += len(INLINE_MATH.findall(line))
    return tokens + len(WORD.findall(INLINE_MATH.sub(" ", line)))


def markdown_size(markdown: str) -> Size:
    """Words shown open and collapsed, and lines of code blocks, in one cell of prose."""
    size = Size()
    stack: list[tuple[str, str, bool]] = []  # (fence, kind, collapsed) of each open block
    in_options = False
    in_math = False
    for line in markdown.splitlines():
        stripped = line.strip()
        collapsed = any(block[2] for block in stack)
        kind = stack[-1][1] if stack else "prose"
        if stack and stripped == stack[-1][0]:
            stack.pop()
            in_options = False
            continue
        if kind == "code":
            if stripped:
                if collapsed:
                    size.hidden_code_lines += 1
                else:
                    size.code_lines += 1
            continue
        if kind == "math":
            continue
        opening = FENCE.match(stripped)
        if opening:
            info = opening.group("info")
            directive = re.fullmatch(r"\{([\w:-]+)\}", info)
            name = directive.group(1) if directive else ""
            if not directive:
                block = "code"
            elif name in {"math", "code-block", "code"}:
                block = "math" if name == "math" else "code"
            else:
                block = "prose"
            stack.append((opening.group("fence"), block, collapsed or name == "dropdown"))
            in_options = block == "prose"
            continue
        option = OPTION.match(stripped)
        if in_options and option:
            if option.group("key") == "class" and "dropdown" in option.group("value"):
                stack[-1] = (stack[-1][0], stack[-1][1], True)
            continue
        in_options = False
        if stripped.startswith("$$"):
            if in_math or not (len(stripped) > 2 and stripped.endswith("$$")):
                in_math = not in_math  # a fence opens or closes a display formula
            continue
        if in_math or LABEL.match(stripped) or stripped.startswith("<!--"):
            continue
        words = count_words(stripped.lstrip("#>*-+ ").rstrip())
        if collapsed:
            size.collapsed_words += words
        else:
            size.words += words
    return size


def code_size(cell: nbformat.NotebookNode) -> Size:
    """The lines of a code cell, open or behind a click."""
    lines = sum(1 for line in without_tab_line(cell.source).splitlines() if line.strip())
    hidden = HIDDEN_TAGS & set(cell.metadata.get("tags", []))
    return Size(hidden_code_lines=lines) if hidden else Size(code_lines=lines)


def split_sections(prose: str) -> list[tuple[str, str | None]]:
    """A cell's prose cut where a section starts: (text, the section it opens, or None)."""
    parts: list[tuple[str, str | None]] = []
    start, section = 0, None
    for match in SECTION.finditer(prose):
        parts.append((prose[start : match.start()], section))
        start, section = match.start(), match.group("heading") or match.group("solution")
    parts.append((prose[start:], section))
    return parts


def cell_views(cell: nbformat.NotebookNode, shared: bool) -> tuple[str, ...]:
    """The frameworks whose readers see a code cell."""
    frameworks = cell_frameworks(cell)
    return FRAMEWORKS if shared and frameworks == (DEFAULT,) else frameworks


def page_sizes(md: Path, sections: bool = False) -> dict[tuple[str, str], Size]:
    """(framework, section) -> Size for every view of a page; one section, "page", unless
    `sections` splits it at each `##` heading."""
    source = jupytext.read(md)
    frameworks = FRAMEWORKS if is_multi_framework(source) else (DEFAULT,)
    shared = pytorch_for_all(source)
    sizes: dict[tuple[str, str], Size] = {}
    current = dict.fromkeys(frameworks, "page")
    for cell in source.cells:
        for framework in frameworks:
            if cell.cell_type == "code":
                if framework not in cell_views(cell, shared):
                    continue
                size = code_size(cell)
            elif cell.cell_type == "markdown":
                prose = prose_for(cell.source, framework)
                for part, section in split_sections(prose) if sections else [(prose, None)]:
                    if section:
                        current[framework] = section
                    sizes.setdefault((framework, current[framework]), Size()).add(
                        markdown_size(part)
                    )
                continue
            else:
                continue
            sizes.setdefault((framework, current[framework]), Size()).add(size)
    return sizes


def report(md: Path, sections: bool = False) -> str:
    """A table of every view's counts, for people to read."""
    rows = [
        f"{display_path(md)}",
        f"  {'view':<11} {'section':<44} {'words':>6} {'collapsed':>9} {'code':>5} {'hidden':>6}",
    ]
    for (framework, section), size in page_sizes(md, sections).items():
        rows.append(
            f"  {framework:<11} {section[:44]:<44} {size.words:>6} {size.collapsed_words:>9} "
            f"{size.code_lines:>5} {size.hidden_code_lines:>6}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--sections", action="store_true", help="count each ## section apart")
    args = parser.parse_args(argv)
    for page in args.pages:
        if not page.is_file():
            parser.error(f"pages: {page} is not a file; expected a page such as book/intro.md")
        print(report(page.resolve(), args.sections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
