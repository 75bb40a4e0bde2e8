"""Export the executed notebooks as `notebooks/<page>[.<framework>].ipynb` for Colab and Jupyter,
which show MyST as raw text: code and outputs kept, MyST made plain Markdown, with glued values
and links numbered and titled as Sphinx's reading of the book. Other MyST is an error naming it."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import pickle
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import nbformat
from docutils.parsers.rst import Directive
from markdown_it import MarkdownIt
from mdit_py_plugins.colon_fence import colon_fence_plugin
from mdit_py_plugins.myst_blocks import myst_block_plugin
from mdit_py_plugins.myst_role.index import myst_role
from myst_parser.parsers.directives import parse_directive_text
from sphinx.util import docname_join
from sphinx.util.nodes import split_explicit_title

from tools.book import ROOT, display_path, toc_notebooks, write_if_changed
from tools.frameworks import DEFAULT, derived_notebook, launched_frameworks

EXPORT_DIR = ROOT / "notebooks"
SPHINX_DIR = ROOT / "_build" / "export"  # the reading-only build the export takes numbers from
NAMED = ("attention", "caution", "danger", "error", "hint", "important", "note", "tip", "warning")
ADMONITIONS = {"admonition": "", "seealso": "See also", **{n: n.capitalize() for n in NAMED}}
BLOCKS = MarkdownIt("commonmark").use(colon_fence_plugin).use(myst_block_plugin)
SPLIT_AT = {"fence", "colon_fence", "myst_target", "myst_line_comment"}


class ExportError(ValueError):
    """MyST that has no plain-Markdown form here, or a value the export cannot find."""


class Target(NamedTuple):
    """Where a label points; `text` is what {ref} shows, `number` ("Fig. 3", or "") {numref}."""

    url: str
    text: str
    number: str = ""


@dataclass
class Book:
    """The book's address, page titles and labels, and the page being converted and its glue."""

    base_url: str
    titles: dict[str, str]
    targets: dict[str, Target]
    docname: str = ""
    glue: dict[str, str] = field(default_factory=dict)

    def target(self, label: str, role: str, numbered: bool = False) -> Target:
        found = self.targets.get(label)
        if found is None:
            raise ExportError(f"{role}: no page of the book defines the label {label!r}")
        if numbered and not found.number:
            raise ExportError(f"{role}: {label!r} is not numbered")
        return found


def book_index(env: Any) -> Book:
    """A Sphinx environment's `html_baseurl`, titles, std labels and `toc_fignumbers`."""
    if not env.config.html_baseurl:
        raise ExportError("_config.yml: html.baseurl is empty; set it to the book's address")
    numbers = {
        (doc, anchor): env.config.numfig_format[kind] % ".".join(map(str, number))
        for doc, kinds in env.toc_fignumbers.items()
        for kind, anchors in kinds.items()
        for anchor, number in anchors.items()
    }
    exercises = getattr(env, "sphinx_exercise_registry", {})
    base_url, std, targets = env.config.html_baseurl.rstrip("/") + "/", env.domaindata["std"], {}
    for label, (doc, anchor, *title) in {**std["anonlabels"], **std["labels"]}.items():
        number = numbers.get((doc, anchor), "")
        # sphinx-exercise shows a reference to a numbered exercise as its number
        text = (number if label in exercises else "") or (title[0] if title else "")
        url = f"{base_url}{doc}.html" + (f"#{anchor}" if anchor else "")
        targets[label] = Target(url, text, number)
    titles = {doc: title.astext() for doc, title in env.titles.items()}
    return Book(base_url, titles, targets)


def load_environment(doctrees: Path) -> Any:
    return pickle.loads((doctrees / "environment.pickle").read_bytes())


def read_book(out: Path = SPHINX_DIR) -> Book:
    """Sphinx's reading of the merged pages as `make book` reads them, with the `dummy` builder."""
    from tools import render

    read = render.build(
        "--builder", "custom", "--custom-builder", "dummy", "--path-output", out, "-q", capture=True
    )
    if read.returncode:
        raise ExportError(f"Sphinx could not read the book:\n{read.stdout[-3000:]}{read.stderr}")
    return book_index(load_environment(out / "_build" / ".doctrees"))


def _glue_values(notebook: nbformat.NotebookNode) -> dict[str, str]:
    values = {}
    for output in (output for cell in notebook.cells for output in cell.get("outputs", [])):
        scrapbook = output.get("metadata", {}).get("scrapbook", {})
        text = output.get("data", {}).get(scrapbook.get("mime_prefix", "") + "text/plain")
        if "name" in scrapbook and text is not None:
            values[scrapbook["name"]] = "".join(text)  # a str, or a list of lines
    return values


def format_glued(text: str, spec: str) -> str:
    """A glued value formatted as myst-nb does (`myst_nb.core.variables.format_plain_text`)."""
    value: Any = text
    with contextlib.suppress(SyntaxError, ValueError):
        value = ast.literal_eval(text)
    cast = {"s": str, **dict.fromkeys("bcdoxX", int), **dict.fromkeys("eEfFgGn%", float)}
    try:
        return format(cast.get(spec[-1:], lambda same: same)(value), spec)
    except (TypeError, ValueError) as err:
        raise ExportError(f"cannot format the glued value {text!r} with {spec!r}: {err}") from err


def escape_markdown(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", text)


def convert_role(name: str, content: str, book: Book) -> str:
    role = f"{{{name}}}`{content}`"
    explicit, text, target = split_explicit_title(content)
    text = text if explicit else ""
    if name == "glue:text":
        key, spec = content.rsplit(":", 1) if ":" in content else (content, "")
        if key not in book.glue:
            raise ExportError(
                f"{role}: {book.docname}.ipynb stores no glued value {key!r} as text/plain; "
                "run `make notebooks` so that its outputs are current"
            )
        return escape_markdown(format_glued(book.glue[key], spec))
    if name in ("ref", "numref"):
        found = book.target(target, role, numbered=name == "numref")
        number = found.number.rsplit(" ", 1)[-1]
        if name == "numref":
            text = text.replace("%s", number).replace("{number}", number) or found.number
        text, url = text or found.text, found.url
    elif name == "doc":
        target = docname_join(book.docname, target)
        if target not in book.titles:
            raise ExportError(f"{role}: no page {target!r} in _toc.yml")
        text, url = text or book.titles[target], f"{book.base_url}{target}.html"
    else:
        known = "glue:text, ref, numref, doc"
        raise ExportError(f"the role {{{name}}} has no plain-Markdown form here; known: {known}")
    return f"[{escape_markdown(text)}]({url})"


def _role_with_span(state, silent: bool) -> bool:
    """mdit_py_plugins' role rule, recording where in the source each role stands."""
    start = state.pos
    if myst_role(state, silent) and not silent:
        state.tokens[-1].meta["span"] = (start, state.pos)
    return state.pos > start


ROLES = MarkdownIt("commonmark")
ROLES.inline.ruler.before("backticks", "myst_role", _role_with_span)


def convert_inline(text: str, book: Book) -> str:
    """Text with every role (as MyST's markdown-it rule finds them) replaced by its plain form."""
    pieces, last = [], 0
    for token in ROLES.parseInline(text)[0].children or []:
        if token.type == "myst_role":
            start, end = token.meta["span"]
            pieces += [text[last:start], convert_role(token.meta["name"], token.content, book)]
            last = end
    return "".join(pieces) + text[last:]


class CollapsedHeading(str):
    """A cell that opens a solution spanning cells: the notebook front ends fold its section."""


class _AnyDirective(Directive):
    """Options and content parsed as MyST parses them, whatever the directive's name."""

    optional_arguments, final_argument_whitespace, has_content = 1, True, True
    option_spec = {"any": str}


def convert_directive(info: str, content: str, book: Book) -> list[str]:
    """The plain-Markdown form of one directive (its fence's info and content)."""
    name, argument = [*info[1:].split("}", 1), ""][:2]
    parsed = parse_directive_text(_AnyDirective, argument, content, validate_options=False)
    if parsed.warnings:
        raise ExportError(f"{info}: {parsed.warnings[0].msg}")
    argument, options = "".join(parsed.arguments), parsed.options
    body = "\n".join(convert_markdown("\n".join(parsed.body), book)).strip()
    if name in ADMONITIONS:
        title = convert_inline(argument, book) or ADMONITIONS[name]
        if "dropdown" in str(options.get("class", "")).split():
            return [f"<details>\n<summary>{title}</summary>\n\n{body}\n\n</details>"]
        return ["\n".join(f"> {line}".rstrip() for line in f"**{title}**\n\n{body}".split("\n"))]
    if name == "exercise":
        target = book.targets.get(options.get("label", ""))
        heading = (target.number if target else "") or "Exercise"  # not numbered: nonumber
        title = f" ({convert_inline(argument, book)})" if argument else ""
        return [f"**{heading}{title}**\n\n{body}"]
    if name == "solution-start":
        exercise = book.target(argument, f"{{{name}}} {argument}", numbered=True)
        return [CollapsedHeading(f"## Solution to [{exercise.number}]({exercise.url})")]
    if name in ("solution-end", "glue"):  # a notebook shows a glued output where it is made
        return []
    raise ExportError(
        f"the directive {{{name}}} has no plain-Markdown form here; known directives: "
        f"{', '.join(ADMONITIONS)}, exercise, solution-start, solution-end, glue"
    )


def convert_markdown(source: str, book: Book) -> list[str]:
    """A MyST Markdown cell as plain-Markdown cells, a new one where a solution starts."""
    lines, cells, index = source.split("\n"), [""], 0
    blocks = [t for t in BLOCKS.parse(source) if t.level == 0 and t.type in SPLIT_AT] + [None]
    for token in blocks:
        start, end = token.map if token else (len(lines), len(lines))
        if start > index:
            cells[-1] += convert_inline("\n".join(lines[index:start]), book) + "\n"
        index, info = end, token.info.strip() if token else ""
        if info.startswith("{"):
            for text in convert_directive(info, token.content, book):
                if isinstance(text, CollapsedHeading):
                    cells += [text, ""]
                else:
                    cells[-1] += text + "\n"
        elif token and token.type == "colon_fence":
            raise ExportError(f"a ::: fence without a directive name: {lines[start].strip()!r}")
        elif token and token.type == "fence":
            cells[-1] += "\n".join(lines[start:end]) + "\n"
    tidy = [type(cell)(re.sub(r"\n{3,}", "\n\n", cell).strip("\n")) for cell in cells]
    return [cell for cell in tidy if cell.strip()]


def export_notebook(md: Path, book: Book, framework: str = DEFAULT) -> nbformat.NotebookNode:
    """One page's notebook in one framework: Markdown made plain, a caption after each figure."""
    executed = derived_notebook(md, framework)
    source = nbformat.read(executed, as_version=4)
    name = md.relative_to(ROOT).with_suffix("").as_posix()
    book = replace(book, docname=name, glue=_glue_values(source))
    cells, collapsed = [], []
    for index, cell in enumerate(source.cells):
        try:
            if cell.cell_type == "markdown":
                texts = convert_markdown(cell.source, book)
            else:  # the caption the book keeps in the cell's metadata, numbered as the book
                figure = cell.metadata.get("mystnb", {}).get("figure", {})
                number = getattr(book.targets.get(figure.get("name", "")), "number", "")
                caption = convert_inline(" ".join(str(figure.get("caption", "")).split()), book)
                texts = [f"**{number}** " * bool(number) + caption] if caption else []
                cells.append(nbformat.from_dict(cell))
                if "hide-cell" in cell.metadata.get("tags", []):  # stays folded
                    cells[-1].metadata.setdefault("jupyter", {})["source_hidden"] = True
        except ExportError as err:
            raise ExportError(f"{display_path(executed)}, cell {index}: {err}") from None
        for text in texts:
            new = nbformat.v4.new_markdown_cell(text)
            key = f"{executed.stem}/export/{len(cells)}"  # an id the same on every run
            new.id = hashlib.sha256(key.encode()).hexdigest()[:12]
            if isinstance(text, CollapsedHeading):  # JupyterLab and Notebook 7; Colab by id
                new.metadata.update({"jp-MarkdownHeadingCollapsed": True, "id": new.id})
                collapsed.append(new.id)
            cells.append(new)
    keep = ("kernelspec", "language_info", "widgets")
    metadata = {key: value for key, value in source.metadata.items() if key in keep}
    if collapsed:
        metadata["colab"] = {"collapsed_sections": collapsed}
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    notebook.nbformat_minor = source.nbformat_minor
    return notebook


def exported_path(md: Path, framework: str = DEFAULT) -> Path:
    return EXPORT_DIR / derived_notebook(md, framework).name


def export_all(book: Book) -> dict[Path, str]:
    """Every exported notebook's path and file text, without writing anything."""
    files = {}
    for md in toc_notebooks():
        for framework in launched_frameworks(md):
            notebook = export_notebook(md, book, framework)
            nbformat.validate(notebook)
            files[exported_path(md, framework)] = nbformat.writes(notebook) + "\n"
    return files


def write_all() -> list[tuple[Path, bool]]:
    """Write the exports of a fresh reading of the book that change, remove stale ones."""
    files = export_all(read_book())
    written = [(path, write_if_changed(path, text)) for path, text in files.items()]
    for stale in sorted(set(EXPORT_DIR.glob("*.ipynb")) - set(files)):
        stale.unlink()
        written.append((stale, True))
    return written
