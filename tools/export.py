"""Export the book's notebooks for reading outside the book (`make notebooks`).

The paired `book/*.ipynb` hold MyST Markdown: glue roles, cross-references, exercise and
solution directives, admonitions. Colab, Studio Lab, Binder and plain Jupyter show those as raw
text. The export writes `notebooks/<page>.ipynb` from each executed `book/<page>.ipynb`, with
the same code cells and stored outputs, and Markdown cells in plain CommonMark:

* `{glue:text}` roles become the glued value, formatted as the role's format spec says; the
  values are read from the notebook's stored glue outputs (`metadata.scrapbook.name`);
* `{numref}`, `{ref}` and `{doc}` become links to the published book's HTML pages, with the
  numbers the book gives (figures and exercises are numbered across the book, in `_toc.yml`
  order), so `_config.yml`'s `html.baseurl` (or, without it, the repository's GitHub Pages
  address) is the base of every link;
* an exercise becomes a bold "Exercise N" line and its text; a solution written as one
  directive becomes a collapsed `<details>` block; a solution that spans cells (between
  `solution-start` and `solution-end`, with code cells inside) becomes a heading cell that
  JupyterLab, Notebook 7 and Colab open collapsed, since no `<details>` can enclose cells;
* admonitions become blockquotes, and dropdown admonitions collapsed `<details>` blocks;
* `(label)=` targets and `%` comments are dropped, and a figure's caption, which the book keeps
  in cell metadata, follows the figure as a Markdown cell.

Anything else in braces, a role or a directive this module does not know, is an error naming
the page, the cell and the construct, so nothing reaches a reader as raw MyST.
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin

from tools.book import ROOT, display_path, toc_notebooks, toc_pages, write_if_changed
from tools.book import config as book_config
from tools.frameworks import DEFAULT, derived_notebook, launched_frameworks

EXPORT_DIR = ROOT / "notebooks"
FIGURE_FORMAT = "Fig. {}"  # Sphinx's default numfig_format for figures
EXERCISE_FORMAT = "Exercise {}"  # sphinx-exercise's label for a numbered exercise
ADMONITIONS = {
    "admonition": "",
    "attention": "Attention",
    "caution": "Caution",
    "danger": "Danger",
    "error": "Error",
    "hint": "Hint",
    "important": "Important",
    "note": "Note",
    "seealso": "See also",
    "tip": "Tip",
    "warning": "Warning",
}
# MyST's block syntax, as myst-parser reads it: fences, colon fences, targets and comments
MYST = MarkdownIt("commonmark").use(colon_fence_plugin).use(myst_block_plugin)
SPLIT_AT = {"fence", "colon_fence", "myst_target", "myst_line_comment"}
DIRECTIVE_INFO = re.compile(r"^\s*\{(?P<name>[A-Za-z][\w:.+-]*)\}\s*(?P<argument>.*?)\s*$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<marks>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
# a code span, optionally preceded by a role name: {name}`content`
ROLE_OR_CODE = re.compile(
    r"(?:\{(?P<role>[A-Za-z][\w:.+-]*)\})?(?P<ticks>`+)(?P<content>.+?)(?<!`)(?P=ticks)(?!`)",
    re.S,
)
LINK_TARGET = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
GLUE_MIME_PREFIX = "application/papermill.record/"
COLLAPSED_HEADING = "jp-MarkdownHeadingCollapsed"  # JupyterLab and Notebook 7


class ExportError(ValueError):
    """MyST that has no plain-Markdown form here, or a value the export cannot find."""


def book_url(config: dict | None = None) -> str:
    """The published book's address, ending in `/`: the base of every exported link.

    `html.baseurl` in `_config.yml` when set; otherwise the GitHub Pages address of the
    repository that `repository.url` names (`https://<owner>.github.io/<name>/`). `config` is
    the book's `_config.yml` unless given.
    """
    config = book_config() if config is None else config
    base = (config.get("html") or {}).get("baseurl") or ""
    if base:
        return base.rstrip("/") + "/"
    repository = (config.get("repository") or {}).get("url", "")
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?/?", repository)
    if not match:
        raise ExportError(
            f"_config.yml: repository.url is {repository!r}, not a GitHub "
            "repository address (https://github.com/<owner>/<name>); set html.baseurl to "
            "the published book's address instead"
        )
    return f"https://{match[1].lower()}.github.io/{match[2]}/"


@dataclass(frozen=True)
class Target:
    """Where a label points in the book, and what a reference to it reads."""

    docname: str  # e.g. "book/explorer"
    anchor: str  # "" for the top of the page
    text: str  # what {ref} shows
    number: str = ""  # what {numref} shows; empty when the target is not numbered


@dataclass
class BookIndex:
    """Everything a reference can point at: page titles and labelled targets."""

    base_url: str
    titles: dict[str, str] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)

    def url(self, docname: str, anchor: str = "") -> str:
        """The published address of a page, or of an anchor in it."""
        return f"{self.base_url}{docname}.html" + (f"#{anchor}" if anchor else "")


def docname(page: Path, root: Path = ROOT) -> str:
    """A page's Sphinx document name: its path from the book's root, without suffix."""
    return page.relative_to(root).with_suffix("").as_posix()


def read_page(page: Path) -> nbformat.NotebookNode:
    """The cells a page is built from: its executed `.ipynb` when it has one, else its `.md`."""
    ipynb = page.with_suffix(".ipynb")
    if ipynb.exists():
        return nbformat.read(ipynb, as_version=4)
    return jupytext.read(page)


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's options (`:key: value` lines or a `---` YAML block) and its content."""
    if body and body[0].strip() == "---":
        end = next((i for i, line in enumerate(body[1:], 1) if line.strip() == "---"), None)
        if end is None:
            raise ExportError("a directive's YAML options block is not closed by ---")
        options = yaml.safe_load("\n".join(body[1:end])) or {}
        return {str(k): str(v) for k, v in options.items()}, body[end + 1 :]
    options, index = {}, 0
    while index < len(body) and (match := re.match(r"^:([\w-]+):\s*(.*)$", body[index])):
        options[match[1]] = match[2].strip()
        index += 1
    return options, body[index:]


@dataclass
class Block:
    """One piece of a Markdown cell: text, a fenced code block, a directive, or a target."""

    kind: str  # "text", "code", "directive" or "target"
    lines: list[str]
    name: str = ""
    argument: str = ""
    options: dict[str, str] = field(default_factory=dict)


def parse_blocks(source: str) -> list[Block]:
    """Split MyST Markdown into blocks, as MyST's own markdown-it parser reads it: fenced code
    kept verbatim, directives (backtick or colon fences) with their options and content, and
    `(label)=` targets and `%` comments apart; the lines between them stay text."""
    lines, blocks, index = source.split("\n"), [], 0
    spans = {
        token.map[0]: (token.map[1], token)
        for token in MYST.parse(source)
        if token.level == 0 and token.map and token.type in SPLIT_AT
    }
    while index < len(lines):
        end, token = spans.get(index, (None, None))
        if token is None:
            if blocks and blocks[-1].kind == "text":
                blocks[-1].lines.append(lines[index])
            else:
                blocks.append(Block("text", [lines[index]]))
            index += 1
            continue
        if token.type in ("myst_target", "myst_line_comment"):
            blocks.append(Block("target", lines[index:end]))
        elif directive := DIRECTIVE_INFO.match(token.info):
            options, content = _split_options(token.content.split("\n")[:-1])
            blocks.append(
                Block("directive", content, directive["name"], directive["argument"], options)
            )
        elif token.type == "colon_fence":
            raise ExportError(f"a ::: fence without a directive name: {lines[index].strip()!r}")
        else:
            blocks.append(Block("code", lines[index:end]))
        index = end
    return blocks


def _glue_values(notebook: nbformat.NotebookNode) -> dict[str, dict[str, str]]:
    """The glued outputs of an executed notebook, by name: mime type -> stored value."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            scrapbook = output.get("metadata", {}).get("scrapbook", {})
            if "name" not in scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", GLUE_MIME_PREFIX)
            values[scrapbook["name"]] = {
                mime.removeprefix(prefix): "".join(data) if isinstance(data, list) else data
                for mime, data in output.get("data", {}).items()
            }
    return values


def format_glued(text: str, spec: str) -> str:
    """A glued `text/plain` value formatted by `spec`, exactly as the book formats it.

    The stored text is evaluated as a Python literal when it is one; the spec's last
    character then says whether the value is used as a string, an integer or a float.
    """
    try:
        value: Any = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not spec:
        return str(value)
    kind = spec[-1]
    try:
        if kind == "s":
            value = str(value)
        elif kind in "bcdoxX":
            value = int(value)
        elif kind in "eEfFgGn%":
            value = float(value)
        return format(value, spec)
    except (TypeError, ValueError) as err:
        raise ExportError(f"cannot format the glued value {text!r} with {spec!r}: {err}") from err


def escape_markdown(text: str) -> str:
    """Text to appear literally in Markdown: its emphasis, link and HTML characters escaped."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)


@dataclass
class Page:
    """What converting one page's Markdown needs: its name, glued values and the book."""

    docname: str
    glue: dict[str, dict[str, str]]
    book: BookIndex

    def resolve_doc(self, target: str) -> str:
        """The document a `{doc}` target names, relative to this page unless it starts with /."""
        if target.startswith("/"):
            name = target.lstrip("/")
        else:
            name = (Path(self.docname).parent / target).as_posix()
        parts: list[str] = []
        for part in name.removesuffix(".md").removesuffix(".ipynb").split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return "/".join(parts)


def _link(text: str, url: str) -> str:
    return f"[{escape_markdown(text)}]({url})"


def _split_title(content: str) -> tuple[str, str]:
    """`text <target>` -> (text, target); a bare `target` -> ("", target)."""
    match = LINK_TARGET.match(content.strip())
    return (match["text"].strip(), match["target"].strip()) if match else ("", content.strip())


def convert_role(name: str, content: str, page: Page) -> str:
    """The plain-Markdown form of one MyST role."""
    if name in ("glue:text", "glue", "glue:any", "glue:md", "glue:math"):
        return _convert_glue(name, content, page)
    if name in ("ref", "numref"):
        text, label = _split_title(content)
        target = page.book.targets.get(label)
        if target is None:
            raise ExportError(f"{{{name}}}`{content}`: no page of the book defines {label!r}")
        if name == "numref":
            if not target.number:
                raise ExportError(f"{{numref}}`{content}`: {label!r} is not numbered")
            number = target.number.rsplit(" ", 1)[-1]
            text = text.replace("%s", number).replace("{number}", number) or target.number
        return _link(text or target.text, page.book.url(target.docname, target.anchor))
    if name == "doc":
        text, path = _split_title(content)
        document = page.resolve_doc(path)
        if document not in page.book.titles:
            raise ExportError(f"{{doc}}`{content}`: no page {document!r} in _toc.yml")
        return _link(text or page.book.titles[document], page.book.url(document))
    if name == "math":
        return f"${content}$"
    if name in ("sub", "sup"):
        return f"<{name}>{escape_markdown(content)}</{name}>"
    if name == "kbd":
        return f"<kbd>{escape_markdown(content)}</kbd>"
    if name in ("abbr", "term"):
        return escape_markdown(_split_title(content)[0] or content)
    raise ExportError(
        f"the role {{{name}}} has no plain-Markdown form here; known roles: glue:text, glue, "
        "glue:md, glue:math, ref, numref, doc, math, sub, sup, kbd, abbr, term"
    )


def _convert_glue(name: str, content: str, page: Page) -> str:
    """A glue role's value: formatted text, Markdown or math, from the stored outputs."""
    key, spec = content, ""
    if name in ("glue:text", "glue", "glue:any") and ":" in content:
        key, spec = content.rsplit(":", 1)
    if "::" in key:
        raise ExportError(f"{{{name}}}`{content}`: glue from another page is not supported")
    if key not in page.glue:
        raise ExportError(
            f"{{{name}}}`{content}`: {page.docname}.ipynb stores no glued value {key!r}; "
            "run `make notebooks` so that its outputs are current"
        )
    data = page.glue[key]
    if name == "glue:md":
        return data.get("text/markdown", data.get("text/plain", ""))
    if "text/plain" not in data:
        raise ExportError(f"{{{name}}}`{content}`: the value {key!r} has no text/plain form")
    value = format_glued(data["text/plain"], spec)
    return f"${value}$" if name == "glue:math" else escape_markdown(value)


def convert_inline(text: str, page: Page) -> str:
    """Text with every role replaced by its plain form; code spans are left untouched."""

    def replace(match: re.Match) -> str:
        if match["role"] is None:
            return match[0]
        content = match["content"]
        if len(match["ticks"]) > 1:
            content = content.strip()
        return convert_role(match["role"], content, page)

    return ROLE_OR_CODE.sub(replace, text)


def _blockquote(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def _details(summary: str, body: str) -> str:
    """A collapsed HTML block; the blank lines let CommonMark parse the body as Markdown."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body.strip()}\n\n</details>"


@dataclass
class Part:
    """A Markdown cell of the export; a collapsed heading starts a solution section."""

    text: str
    collapsed_heading: bool = False


def exercise_title(label: str, page: Page) -> tuple[str, str]:
    """The name a solution gives its exercise ("Exercise 2"), and that exercise's address."""
    target = page.book.targets.get(label)
    if target is None or not target.number:
        raise ExportError(f"a solution names the exercise {label!r}, which the book lacks")
    return target.number, page.book.url(target.docname, target.anchor)


def convert_directive(block: Block, page: Page) -> list[Part]:
    """The plain-Markdown form of one directive, as one or more cells' worth of text."""
    name, classes = block.name, block.options.get("class", "").split()
    body = "\n".join(part.text for part in convert_markdown("\n".join(block.lines), page))
    if name in ADMONITIONS or name == "dropdown":
        title = convert_inline(block.argument, page) or ADMONITIONS.get(name, "") or "Details"
        if name == "dropdown" or "dropdown" in classes:
            return [Part(_details(title, body))]
        return [Part(_blockquote(f"**{title}**\n\n{body.strip()}"))]
    if name == "exercise":
        target = page.book.targets.get(block.options.get("label", ""))
        heading = target.number if target and "nonumber" not in block.options else "Exercise"
        if block.argument:
            heading += f" ({convert_inline(block.argument, page)})"
        return [Part(f"**{heading}**\n\n{body.strip()}")]
    if name == "solution":
        number, _ = exercise_title(block.argument, page)
        return [Part(_details(f"Solution to {number}", body))]
    if name == "solution-start":
        number, url = exercise_title(block.argument, page)
        return [Part(f"## Solution to [{number}]({url})", collapsed_heading=True)]
    if name == "solution-end":
        return []
    if name == "math":
        return [Part(f"$$\n{body.strip()}\n$$")]
    if name in ("code-block", "code", "sourcecode"):
        return [Part("\n".join([f"```{block.argument}", *block.lines, "```"]))]
    if name == "glue":
        # the book shows a glued output here; a notebook shows it at the cell that makes it
        return []
    raise ExportError(
        f"the directive {{{name}}} has no plain-Markdown form here; known directives: "
        f"{', '.join(sorted(ADMONITIONS))}, dropdown, exercise, solution, solution-start, "
        "solution-end, math, code-block, glue"
    )


def convert_markdown(source: str, page: Page) -> list[Part]:
    """A MyST Markdown cell as one or more plain-Markdown cells.

    A cell is split where a solution that spans cells begins, so that its heading is a cell
    of its own: the notebook front ends collapse a section from its heading cell on.
    """
    parts: list[Part] = [Part("")]
    for block in parse_blocks(source):
        if block.kind == "text":
            parts[-1].text += convert_inline("\n".join(block.lines), page) + "\n"
        elif block.kind == "code":
            parts[-1].text += "\n".join(block.lines) + "\n"
        elif block.kind == "directive":
            for converted in convert_directive(block, page):
                if converted.collapsed_heading:
                    parts.extend([converted, Part("")])
                else:
                    parts[-1].text += converted.text + "\n"
    for part in parts:
        part.text = re.sub(r"\n{3,}", "\n\n", part.text).strip("\n")
    return [part for part in parts if part.text.strip()]


def _caption_part(cell: nbformat.NotebookNode, page: Page) -> Part | None:
    """A Markdown cell that shows a code cell's figure caption, as the book prints it."""
    figure = cell.metadata.get("mystnb", {}).get("figure", {})
    if not figure.get("caption"):
        return None
    target = page.book.targets.get(figure.get("name", ""))
    number = f"**{target.number}** " if target and target.number else ""
    caption = " ".join(str(figure["caption"]).split())
    return Part(f"{number}{convert_inline(caption, page)}")


def _titles_and_targets(name: str, notebook: nbformat.NotebookNode, book: BookIndex) -> None:
    """Record a page's title, section labels, admonition names, figures and exercises."""
    pending: list[str] = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if figure.get("name"):
                count = 1 + sum(t.number.startswith("Fig.") for t in book.targets.values())
                number = FIGURE_FORMAT.format(count)
                caption = " ".join(str(figure.get("caption", number)).split())
                book.targets[figure["name"]] = Target(name, figure["name"], caption, number)
            continue
        _record_markdown_targets(name, cell.source, book, pending)


def _record_markdown_targets(name: str, source: str, book: BookIndex, pending: list[str]) -> None:
    """Record the targets of one Markdown cell; `pending` holds labels awaiting a heading."""
    for block in parse_blocks(source):
        if block.kind == "target" and (match := TARGET.match(block.lines[0])):
            pending.append(match["label"])
        elif block.kind == "text":
            for line in block.lines:
                heading = HEADING.match(line)
                if not heading:
                    continue
                title = heading["title"]
                book.titles.setdefault(name, title)
                for label in pending:
                    book.targets[label] = Target(name, label, title)
                pending.clear()
        elif block.kind == "directive":
            _record_directive_target(name, block, book)
            _record_markdown_targets(name, "\n".join(block.lines), book, pending)


def _record_directive_target(name: str, block: Block, book: BookIndex) -> None:
    """Record an exercise's number or a named directive's title."""
    if block.name == "exercise":
        label = block.options.get("label", "")
        if "nonumber" in block.options:
            number = ""
        else:
            count = 1 + sum(t.number.startswith("Exercise") for t in book.targets.values())
            number = EXERCISE_FORMAT.format(count)
        if label:
            book.targets[label] = Target(name, label, number or "Exercise", number)
    elif block.options.get("name"):
        title = block.argument or ADMONITIONS.get(block.name, block.name)
        book.targets[block.options["name"]] = Target(name, block.options["name"], title)


def book_index(pages: list[Path] | None = None, base_url: str | None = None) -> BookIndex:
    """Titles and numbered targets of every page in `_toc.yml`, numbered in reading order."""
    book = BookIndex(base_url if base_url is not None else book_url())
    for page in pages if pages is not None else toc_pages():
        _titles_and_targets(docname(page), read_page(page), book)
    return book


def _stable_id(name: str, index: int) -> str:
    """A cell id made from the page name and the cell's position, the same on every run."""
    return hashlib.sha256(f"{name}/export/{index}".encode()).hexdigest()[:12]


def export_notebook(md: Path, book: BookIndex, framework: str = DEFAULT) -> nbformat.NotebookNode:
    """The exported notebook of one page in one framework: code cells and outputs kept,
    Markdown made plain."""
    executed = derived_notebook(md, framework)
    source = nbformat.read(executed, as_version=4)
    page = Page(docname(md), _glue_values(source), book)
    cells, collapsed = [], []
    for index, cell in enumerate(source.cells):
        where = f"{display_path(executed)}, cell {index}"
        if cell.cell_type != "markdown":
            cells.append(_code_cell(cell))
            caption = _with_context(where, _caption_part, cell, page)
            parts = [caption] if caption else []
        else:
            parts = _with_context(where, convert_markdown, cell.source, page)
        for part in parts:
            new = nbformat.v4.new_markdown_cell(part.text)
            new.id = _stable_id(executed.stem, len(cells))
            if part.collapsed_heading:
                new.metadata[COLLAPSED_HEADING] = True
                new.metadata["id"] = new.id  # Colab names collapsed sections by this id
                collapsed.append(new.id)
            cells.append(new)
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=_metadata(source, collapsed))
    notebook.nbformat_minor = source.nbformat_minor
    return notebook


def _with_context(where: str, function, *args):
    """Call `function`, adding the page and cell to any export error it raises."""
    try:
        return function(*args)
    except ExportError as err:
        raise ExportError(f"{where}: {err}") from None


def _code_cell(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A code cell as exported: unchanged, except that a cell the book hides stays folded."""
    cell = nbformat.from_dict(cell)
    if "hide-cell" in cell.metadata.get("tags", []):
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    return cell


def _metadata(source: nbformat.NotebookNode, collapsed: list[str]) -> dict:
    """The export's notebook metadata: the kernel and widget state, and Colab's folding."""
    metadata = {
        key: value
        for key, value in source.metadata.items()
        if key in ("kernelspec", "language_info", "widgets")
    }
    if collapsed:
        metadata["colab"] = {"collapsed_sections": collapsed}
    return metadata


def exported_path(md: Path, export_dir: Path = EXPORT_DIR, framework: str = DEFAULT) -> Path:
    """Where a page's exported notebook is written: `notebooks/<page>.ipynb`, and
    `notebooks/<page>.<framework>.ipynb` for the other frameworks of a page written in several."""
    return export_dir / derived_notebook(md, framework).name


def render(notebook: nbformat.NotebookNode) -> str:
    """The exported notebook's file text, as `write` stores it."""
    nbformat.validate(notebook)
    return nbformat.writes(notebook) + "\n"


def export_all(pages: list[Path] | None = None, export_dir: Path = EXPORT_DIR) -> dict[Path, str]:
    """Every exported notebook's path and text, without writing anything."""
    book = book_index()
    return {
        exported_path(md, export_dir, framework): render(export_notebook(md, book, framework))
        for md in (pages if pages is not None else toc_notebooks())
        for framework in launched_frameworks(md)
    }


def write_all(export_dir: Path = EXPORT_DIR) -> list[tuple[Path, bool]]:
    """Write the exports, each only if its bytes change, and remove stale ones."""
    files = export_all(export_dir=export_dir)
    written = [(path, write_if_changed(path, text)) for path, text in files.items()]
    for stale in sorted(set(export_dir.glob("*.ipynb")) - set(files)):
        stale.unlink()
        written.append((stale, True))
    return written


def main() -> int:
    for path, changed in write_all():
        state = "removed" if not path.exists() else "written" if changed else "unchanged"
        print(f"{state}: {display_path(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
