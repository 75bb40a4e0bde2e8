"""Generate the `d2lsave` package from the book's `#@save` code (part of `make notebooks`).

A later notebook imports what an earlier one defined instead of repeating it, as the d2l book
does with its `d2l` package. Unlike d2l's indentation-based tool, this one parses each cell
with Python's `ast` and resolves the names that saved code needs with `symtable`, so that a
saved function cannot silently lose an import; the drift test checks that the committed
package is what the notebooks produce.

Marking rules:

* a line holding only the comment `#@save` saves the whole cell;
* `#@save` at the end of a statement's header line (a decorator, the `def` or `class` line, or
  any line of a simple statement) saves that top-level statement.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import subprocess
import symtable
import sys
import tempfile
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from tools.book import ROOT, display_path, toc_notebooks, write_if_changed
from tools.frameworks import DEFAULT, TITLES, framework_notebooks

PACKAGE = "d2lsave"
PACKAGE_DIR = ROOT / PACKAGE
COMMAND = "make notebooks"
LINE_LENGTH = 96  # the project's ruff limit, less room for the closing quotes
SAVE_MARK = re.compile(r"#\s*@save\s*$")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})")


class SaveError(Exception):
    """A `#@save` cell that cannot be turned into module code; names the notebook and cell."""


@dataclass
class SavedBlock:
    """Saved statements of one cell, with where they came from."""

    cell: int
    section: str
    code: str
    public_names: list[str] = field(default_factory=list)


@dataclass
class SavedNotebook:
    """Everything one notebook contributes to the package."""

    path: Path
    title: str
    blocks: list[SavedBlock]
    imports: dict[str, str]  # bound name -> one import statement binding it
    framework: str = DEFAULT  # another framework's saved code goes to the module of its name

    @property
    def module(self) -> str:
        return self.path.stem.replace("-", "_") if self.framework == DEFAULT else self.framework

    @property
    def relpath(self) -> str:
        return display_path(self.path)


def _where(path: Path, cell: int) -> str:
    return f"{display_path(path)}, cell {cell}"


def _headings(markdown: str) -> list[tuple[int, str]]:
    """Markdown headings outside fenced blocks, as (level, text)."""
    found, fence = [], None
    for line in markdown.splitlines():
        match = FENCE.match(line.strip())
        if match:
            marker = match.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif line.strip().startswith(fence):
                fence = None
            continue
        heading = HEADING.match(line) if fence is None else None
        if heading:
            found.append((len(heading.group(1)), heading.group(2)))
    return found


def _uses_ipython_syntax(source: str) -> bool:
    """Whether a cell holds magics or shell escapes, which a Python module cannot."""
    return "get_ipython()" in TransformerManager().transform_cell(source) and (
        "get_ipython()" not in source
    )


def _save_marks(source: str) -> list[tuple[int, int, int]]:
    """Positions of `#@save` comments as (line, start column, end column)."""
    marks = []
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT and SAVE_MARK.fullmatch(token.string):
            marks.append((token.start[0], token.start[1], token.end[1]))
    return marks


def _first_line(node: ast.stmt) -> int:
    """Where a statement starts, counting its decorators."""
    return min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])


def _body_shares_header_line(node: ast.stmt, lines: list[str]) -> bool:
    """Whether a definition's body starts on its header's last line (`def f(): return 1`)."""
    body = node.body[0]
    return bool(_before(lines[body.lineno - 1], body.col_offset).strip())


def _before(line: str, col_offset: int) -> str:
    """The text of `line` before an AST column offset, which counts UTF-8 bytes."""
    return line.encode()[:col_offset].decode()


def _header_lines(node: ast.stmt, lines: list[str]) -> range:
    """The lines of a statement where a `#@save` mark saves it.

    For a definition, those are its decorators and its header, up to the line where the body
    starts; that line counts too when the body shares it with the header, as in a one-line
    `def` or `class`. A mark on a body line of its own belongs to the body, not the definition.
    """
    first = _first_line(node)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        body_line = node.body[0].lineno
        return range(first, body_line + _body_shares_header_line(node, lines))
    return range(first, node.end_lineno + 1)


def _is_registration(node: ast.stmt) -> bool:
    """Whether a def is decorated with `add_to_class`, which binds its name to None."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "add_to_class":
            return True
    return False


def _docstring_literal(text: str, indent: str) -> str:
    """A triple-quoted literal for `text`, indented for a body at `indent`."""
    if '"""' in text or "\\" in text:
        return indent + repr(text)
    lines = text.splitlines()
    body = "\n".join((indent + line) if line else "" for line in lines[1:])
    if len(lines) == 1:
        return f'{indent}"""{text}"""'
    return f'{indent}"""{lines[0]}\n{body}\n{indent}"""'


def _section_note(section: str, relpath: str, width: int) -> str:
    """`Defined in <section> (<path>).`, wrapped to `width` where it can be.

    The words wrap at spaces only, never at hyphens, and the path stays on one line (moved to
    a line of its own when it does not fit), so it can be found and copied from the source.
    """
    lines = textwrap.wrap(
        f"Defined in {section}", width=width, break_on_hyphens=False, break_long_words=False
    )
    where = f"({relpath})."
    if len(lines[-1]) + 1 + len(where) <= width:
        lines[-1] += " " + where
    else:
        lines.append(where)
    return "\n".join(lines)


def _split_one_line_body(code: str, node: ast.stmt) -> str:
    """A one-line definition (`def f(): return 1`) rewritten with its body indented below.

    Statements that share the header's line (`def f(): "Doc."; return 1`) get a line each, so
    that a docstring can then be rewritten on its own lines.
    """
    lines = code.splitlines()
    number = node.body[0].lineno
    line = lines[number - 1].encode()
    on_line = [stmt for stmt in node.body if stmt.lineno == number]
    indent = " " * (node.col_offset + 4)
    split = [line[: on_line[0].col_offset].decode().rstrip()]
    for stmt, following in zip(on_line, [*on_line[1:], None], strict=True):
        end = following.col_offset if following else len(line)
        text = line[stmt.col_offset : end].decode().rstrip()
        split.append(indent + (text.removesuffix(";").rstrip() if following else text))
    lines[number - 1 : number] = split
    return "\n".join(lines) + "\n"


def _add_section(code: str, section: str, relpath: str) -> str:
    """Append where a saved class or function was defined to its docstring."""
    tree = ast.parse(code)
    lines = code.splitlines()
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return code
    if _body_shares_header_line(node, lines):
        return _add_section(_split_one_line_body(code, node), section, relpath)
    first = node.body[0]
    indent = " " * first.col_offset
    note = _section_note(section, relpath, width=LINE_LENGTH - len(indent))
    old = ast.get_docstring(node, clean=True)
    if old is not None:
        literal = _docstring_literal(f"{old}\n\n{note}", indent)
        lines[first.lineno - 1 : first.end_lineno] = literal.splitlines()
    else:
        lines[first.lineno - 1 : first.lineno - 1] = [_docstring_literal(note, indent)]
    return "\n".join(lines) + "\n"


def _strip_marks(source: str, marks: list[tuple[int, int, int]]) -> list[str]:
    """The cell's lines with the `#@save` comments removed."""
    lines = source.splitlines()
    for line, start, end in marks:
        text = lines[line - 1]
        lines[line - 1] = (text[:start].rstrip() + text[end:]).rstrip()
    return lines


def _saved_statements(
    source: str, tree: ast.Module, marks: list[tuple[int, int, int]], where: str
) -> list[ast.stmt]:
    """The top-level statements of a cell that its `#@save` marks select."""
    source_lines = source.splitlines()
    whole_cell = any(not source_lines[line - 1][:start].strip() for line, start, _ in marks)
    if whole_cell:
        return list(tree.body)
    chosen = []
    for line, _, _ in marks:
        owners = [node for node in tree.body if line in _header_lines(node, source_lines)]
        if not owners:
            raise SaveError(f"{where}: the #@save on line {line} marks no top-level statement")
        chosen.extend(node for node in owners if node not in chosen)
    return sorted(chosen, key=lambda node: node.lineno)


def _import_bindings(tree: ast.Module) -> dict[str, str]:
    """One single-name import statement for every name that a cell's imports bind."""
    bindings = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bindings[alias.asname] = f"import {alias.name} as {alias.asname}"
                else:
                    top = alias.name.split(".")[0]
                    bindings[top] = f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                bound = alias.asname or alias.name
                suffix = f" as {alias.asname}" if alias.asname else ""
                bindings[bound] = f"from {node.module} import {alias.name}{suffix}"
    return bindings


def read_notebook(
    path: Path, notebook: nbformat.NotebookNode | None = None, framework: str = DEFAULT
) -> SavedNotebook:
    """Collect the saved code, its sections and the notebook's imports.

    `notebook` is the page's cells for one framework (tools/frameworks.py); by default, all
    the cells of the page at `path`.
    """
    notebook = notebook if notebook is not None else jupytext.read(path)
    title, stack = path.stem, []
    blocks: list[SavedBlock] = []
    imports: dict[str, str] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for level, text in _headings(cell.source):
                if level == 1:
                    title, stack = text, []
                else:
                    stack = [*(s for s in stack if s[0] < level), (level, text)]
            continue
        if cell.cell_type != "code":
            continue
        where = _where(path, index)
        source = cell.source
        marks = _save_marks(TransformerManager().transform_cell(source))
        if marks and _uses_ipython_syntax(source):
            raise SaveError(
                f"{where}: a #@save cell holds IPython syntax (a magic or a shell escape), "
                "which a Python module cannot contain; move it to a cell of its own"
            )
        python = TransformerManager().transform_cell(source) if not marks else source
        try:
            tree = ast.parse(python)
        except SyntaxError as err:
            raise SaveError(f"{where}: cannot parse the cell: {err}") from err
        imports.update(_import_bindings(tree))
        if not marks:
            continue
        lines = _strip_marks(source, marks)
        section = " > ".join([title, *(text for _, text in stack)])
        for node in _saved_statements(source, tree, marks, where):
            if isinstance(node, ast.Import | ast.ImportFrom):
                continue  # collected once, at the top of the module
            code = "\n".join(lines[_first_line(node) - 1 : node.end_lineno]) + "\n"
            code = _add_section(code, section, display_path(path))
            public = []
            if not _is_registration(node):
                public = [name for name in _bound_names(node) if not name.startswith("_")]
            if blocks and blocks[-1].cell == index:
                blocks[-1].code += "\n\n" + code
                blocks[-1].public_names += public
            else:
                blocks.append(SavedBlock(index, section, code, public))
    return SavedNotebook(path, title, blocks, imports, framework)


class _ModuleBindings(ast.NodeVisitor):
    """Collects the names a statement binds in the module's namespace.

    Comprehensions, lambdas and nested definitions have scopes of their own: a name bound in
    them (the `k` of `[f(k) for k in ks]`) is not a module attribute and must not be exported.
    """

    def __init__(self) -> None:
        self.names: list[str] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store) and node.id not in self.names:
            self.names.append(node.id)

    def _definition(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.names.append(node.name)  # its body is another scope

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition

    def _own_scope(self, node: ast.AST) -> None:
        """Skip a scope of its own, except a walrus in it, which binds in the enclosing one."""
        for child in ast.walk(node):
            if isinstance(child, ast.NamedExpr):
                self.visit(child.target)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _own_scope

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass


def _bound_names(node: ast.stmt) -> list[str]:
    """The module-level names a saved statement defines."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    collector = _ModuleBindings()
    collector.visit(node)
    return collector.names


def _global_references(table: symtable.SymbolTable) -> set[str]:
    """Names that code in `table` or its nested scopes looks up in the module namespace."""
    found = set()
    for symbol in table.get_symbols():
        if symbol.is_referenced() and (
            symbol.is_global() and (table.get_type() != "module" or not symbol.is_assigned())
        ):
            found.add(symbol.get_name())
    for child in table.get_children():
        found |= _global_references(child)
    return found


def _needed_imports(saved: SavedNotebook, code: str, defined_in: dict[str, str]) -> list[str]:
    """The import statements that the saved code needs, from the notebook's own imports.

    A name imported from this package is imported from the module that defines it, so that
    the package's modules never depend on the order in which `__init__` imports them.
    """
    table = symtable.symtable(code, saved.relpath, "exec")
    defined = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    needed = _global_references(table) - defined - set(dir(builtins))
    missing = sorted(name for name in needed if name not in saved.imports)
    if missing:
        raise SaveError(
            f"{saved.relpath}: saved code uses {', '.join(missing)}, which neither a saved "
            "definition nor an import in the notebook provides"
        )
    statements = set()
    for name in needed:
        statement = saved.imports[name]
        if statement.startswith(f"from {PACKAGE} import ") and name in defined_in:
            statement = statement.replace(
                f"from {PACKAGE} import", f"from {PACKAGE}.{defined_in[name]} import", 1
            )
        statements.add(statement)
    return sorted(statements)


def _header(source: str) -> str:
    return (
        f"# AUTOGENERATED by `{COMMAND}` from {source}: do not edit this file.\n"
        "# Change the notebook's #@save cells and run the command again.\n"
    )


def render_module(saved: SavedNotebook, defined_in: dict[str, str]) -> str:
    """The module for one notebook: header, imports, then each section's saved code."""
    code = "\n\n".join(block.code for block in saved.blocks)
    imports = _needed_imports(saved, code, defined_in)
    public = [name for block in saved.blocks for name in block.public_names]
    parts = [
        _header(saved.relpath),
        f'"""Code saved from "{saved.title}" ({saved.relpath})."""\n',
        "\n".join(imports) + "\n",
        f"__all__ = {public!r}\n",
    ]
    for block in saved.blocks:
        parts.append(f"# {block.section}\n# ({saved.relpath}, cell {block.cell})\n\n" + block.code)
    return "\n\n".join(parts)


INIT_DOC = """Code saved from the book, importable in later notebooks and in your own code.

The PyTorch code is the package itself (`from d2lsave import SyntheticRegressionData`) and
also `d2lsave.torch`; each other framework's is a module of its name, as in d2l:
`from d2lsave import jax as d2lsave`. A name is imported from its module when first used,
so that importing one framework's module never imports another framework.
"""


def render_init(notebooks: list[SavedNotebook]) -> str:
    """The package's `__init__`: every public PyTorch name, in the book's reading order."""
    lines = [_header("the book's notebooks in _toc.yml order"), f'"""{INIT_DOC}"""\n']
    lines.append("import importlib\n")
    modules = {}
    for saved in notebooks:
        modules.update({n: saved.module for b in saved.blocks for n in b.public_names})
    lines.append(f"_MODULES = {modules!r}\n")
    lines.append(f"__all__ = {list(modules)!r}\n")
    lines.append(
        "\ndef __getattr__(name: str):\n"
        '    """Import the module that defines `name` when the name is first used."""\n'
        "    if name not in _MODULES:\n"
        '        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n'
        '    value = getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)\n'
        "    globals()[name] = value\n"
        "    return value\n"
        "\n\ndef __dir__() -> list[str]:\n"
        "    return sorted({*globals(), *__all__})\n"
    )
    return "\n".join(lines)


def render_default_alias(framework: str = DEFAULT) -> str:
    """`d2lsave/torch.py`: the PyTorch code under a framework's name, like the others."""
    return (
        _header("the book's notebooks in _toc.yml order")
        + f'"""{TITLES[framework]}: the package\'s own code, as `from d2lsave import torch as'
        ' d2lsave`."""\n\n'
        "from d2lsave import *  # noqa: F403\n"
        "from d2lsave import __all__  # noqa: F401\n"
    )


def _formatted(files: dict[Path, str]) -> dict[Path, str]:
    """The files with imports sorted and code formatted by ruff, with the project's settings,
    in one ruff run per step over a scratch copy of the package."""
    with tempfile.TemporaryDirectory(dir=ROOT) as scratch:
        copies = {path: Path(scratch) / PACKAGE / path.name for path in files}
        for path, copy in copies.items():
            copy.parent.mkdir(exist_ok=True)
            copy.write_text(files[path])
        for args in (["check", "--select", "I", "--fix", "--quiet"], ["format", "--quiet"]):
            result = subprocess.run(
                [sys.executable, "-m", "ruff", *args, str(Path(scratch) / PACKAGE)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            if result.returncode != 0:
                raise SaveError(f"ruff could not format {PACKAGE}:\n{result.stdout}{result.stderr}")
        return {path: copy.read_text() for path, copy in copies.items()}


def build_package() -> dict[Path, str]:
    """Every file of the package, as path -> text, generated in memory."""
    notebooks = [
        read_notebook(path, notebook, framework)
        for path in toc_notebooks()
        for framework, _, notebook in framework_notebooks(path)
    ]
    with_code = [saved for saved in notebooks if saved.blocks]
    default = [saved for saved in with_code if saved.framework == DEFAULT]
    files = {
        PACKAGE_DIR / "__init__.py": render_init(default),
        PACKAGE_DIR / "torch.py": render_default_alias(),
    }
    defined_in: dict[str, str] = {}
    for saved in with_code:
        if not saved.module.isidentifier() or keyword.iskeyword(saved.module):
            raise SaveError(f"{saved.relpath}: {saved.module!r} is not a module name")
        target = PACKAGE_DIR / f"{saved.module}.py"
        if target in files:
            raise SaveError(f"{saved.relpath}: a second page saves code into {saved.module}.py")
        files[target] = render_module(saved, defined_in)
        if saved.framework == DEFAULT:  # `from d2lsave import x` means the PyTorch x
            defined_in.update({n: saved.module for b in saved.blocks for n in b.public_names})
    files = _formatted(files)
    for page in toc_notebooks():  # a page's front-end module ships beside its code
        front_end = page.with_suffix(".js")
        if front_end.exists():
            files[PACKAGE_DIR / f"{page.stem.replace('-', '_')}.js"] = front_end.read_text()
    return files


def write_package(files: dict[Path, str]) -> list[Path]:
    """Replace the package with the generated files, each written atomically and only if its
    text changes; the files written."""
    written = [path for path, text in files.items() if write_if_changed(path, text)]
    for stale in {*PACKAGE_DIR.glob("*.py"), *PACKAGE_DIR.glob("*.js")} - set(files):
        stale.unlink()
    return written


def main() -> int:
    try:
        files = build_package()
    except SaveError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in write_package(files):
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
