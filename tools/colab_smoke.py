"""The book's notebooks where readers run them: Colab's versions, a bare Jupyter, Binder's.

Each runtime is an environment made once with uv under `_build/runtimes/<name>`, kept while
what it was made from holds, and put back as it was made before each use (`reset`). Notebooks
run on its kernel with their own first cell, which pip-installs what the runtime lacks
(d2lsave from a wheel of this checkout, through D2LSAVE_WHEEL: GitHub is out of reach here).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient
from nbval.plugin import find_comment_markers, find_metadata_tags, get_sanitize_patterns

from d2lsetup import DEFAULT, FRAMEWORKS, INSTALLERS, PACKAGES
from tools import pip_sources
from tools.book import ROOT, digest, toc_notebooks
from tools.frameworks import derived_notebook, page_frameworks

RUNTIME = ROOT / "tools" / "colab_runtime.txt"
BINDER = ROOT / "binder" / "requirements.txt"
CONSTRAINTS = ROOT / "constraints.txt"
BUILD = ROOT / "_build" / "runtimes"
DIST = BUILD / "dist"
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"  # nbval's patterns (pyproject.toml)
UV = Path(sys.executable).parent / "uv"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ABSENT = ("d2l", "d2lsave", "myst-nb")  # what no runtime holds before its first notebook
OPTIONAL = re.compile(r"\b(ImportError|ModuleNotFoundError|Exception)\b")  # `except` of these
EXPLORER = "explorer.ipynb"  # run in Colab's classic Notebook (tests/runtimes), not by `run`
KERNEL = "colab"  # each runtime's kernel is named after it


class NoPython(RuntimeError):
    """The Python version a runtime asks for is not on this machine."""


def pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements or constraints file, by normalized name."""
    found = re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;#]+)", path.read_text(), re.M)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in found}


COLAB = pins(RUNTIME)
# The frameworks whose every package Colab preinstalls run there; the others stop at once.
COLAB_FRAMEWORKS = tuple(name for name in FRAMEWORKS if set(PACKAGES[name]) <= set(COLAB))
LACKING = tuple(name for name in FRAMEWORKS if name not in COLAB_FRAMEWORKS)


@dataclass(frozen=True)
class Runtime:
    """Where readers run the notebooks: how its environment is made and what runs there."""

    name: str
    requirements: tuple[str, ...]  # uv pip install arguments
    python: str | None  # the X.Y version it needs; None: this machine's
    whole: tuple[str, ...]  # frameworks whose notebooks run to their end, each in a new kernel
    first: tuple[str, ...]  # frameworks whose notebooks' first cells and imports run, one kernel


COLAB_PYTHON = re.search(r"^# python: (\d+\.\d+)$", RUNTIME.read_text(), re.M)[1]
RUNTIMES = {
    runtime.name: runtime
    for runtime in (
        Runtime("colab", ("-r", str(RUNTIME)), COLAB_PYTHON, COLAB_FRAMEWORKS, LACKING),
        Runtime("bare", (f"ipykernel=={pins(CONSTRAINTS)['ipykernel']}",), None, (), (DEFAULT,)),
        Runtime("binder", ("-r", str(BINDER)), None, (), (DEFAULT,)),
    )
}


@dataclass
class Run:
    """What the notebooks did in a runtime."""

    runtime: str
    before: dict[str, str]  # distributions before the first notebook
    after: dict[str, str]  # and after the last one
    ran: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # name -> executed
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> first failure
    differences: dict[str, list[int]] = field(default_factory=dict)  # name -> differing cells
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def installed(self) -> list[str]:
        return sorted(set(self.after) - set(self.before))

    @property
    def changed(self) -> list[str]:
        return sorted(n for n, v in self.before.items() if self.after.get(n) != v)


def _run(*args: str | Path, **kwargs) -> str:
    """What a command printed; CalledProcessError if it fails."""
    run = subprocess.run(
        [str(a) for a in args], check=True, text=True, stdout=subprocess.PIPE, **kwargs
    )
    return run.stdout


def find_python(version: str | None) -> Path:
    """`pythonX.Y` on PATH or in pyenv, checked to run (a pyenv shim may not); NoPython if
    none does. None: the base Python of this environment."""
    if version is None:
        return Path(sys.executable)  # a venv made from a venv's Python uses its base Python
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [shutil.which(f"python{version}"), *sorted(pyenv.glob(f"{version}.*/bin/python"))]
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in filter(None, found):
        ran = subprocess.run([candidate, "-c", check], capture_output=True, text=True, check=False)
        if ran.stdout.strip() == version:
            return Path(candidate)
    raise NoPython(f"no Python {version} on PATH or in {pyenv} (`pyenv install {version}`)")


def distributions(venv: Path) -> dict[str, str]:
    """Every distribution installed in an environment: normalized name -> version."""
    listed = _run(UV, "pip", "list", "-q", "--format", "json", "--python", venv / "bin" / "python")
    return {d["name"]: d["version"] for d in json.loads(listed)}


def importable(venv: Path, modules: list[str]) -> list[str]:
    """Which of `modules` an environment can import (outside the checkout and its d2lsave/)."""
    code = f"import importlib.util as u; print([m for m in {modules!r} if u.find_spec(m)])"
    return ast.literal_eval(_run(venv / "bin" / "python", "-c", code, cwd=venv))


def _uv(venv: Path, command: str, *requirements: str | Path) -> None:
    """`uv pip install` (from pip's sources, hardlinked from uv's cache) or `uninstall`."""
    sources = pip_sources.source_options() if command == "install" else []
    _run(
        UV, "pip", command, "--quiet", "--python", venv / "bin" / "python", *sources, *requirements
    )


def make(runtime: Runtime) -> Path:
    """The runtime's environment with its kernel, made anew unless the one there was made from
    the same Python and requirements and `reset` puts it back as it was made."""
    venv, python = BUILD / runtime.name, find_python(runtime.python)
    files = [Path(argument) for argument in runtime.requirements if Path(argument).is_file()]
    made_from = f"{python} {runtime.requirements} {digest(files)}"
    if (venv / ".made-from").is_file() and (venv / ".made-from").read_text() == made_from:
        if reset(venv):
            return venv
    shutil.rmtree(venv, ignore_errors=True)
    # the pip (and setuptools) `python -m venv` installs, from its own wheels, but with uv
    _run(python, "-m", "venv", "--without-pip", venv)
    where = "import ensurepip, pathlib; print(pathlib.Path(ensurepip.__file__).parent)"
    bundled = Path(_run(venv / "bin" / "python", "-c", where).strip()) / "_bundled"
    if wheels := sorted(bundled.glob("*.whl")):
        _uv(venv, "install", *wheels)
    else:  # a Python whose ensurepip has no wheels of its own
        _run(venv / "bin" / "python", "-m", "ensurepip")
    _uv(venv, "install", *runtime.requirements)
    kernel = venv / "share" / "jupyter" / "kernels" / runtime.name
    kernel.mkdir(parents=True)
    argv = [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": runtime.name}))
    (venv / ".baseline.json").write_text(json.dumps(distributions(venv), indent=1))
    (venv / ".made-from").write_text(made_from)
    return venv


def reset(venv: Path) -> bool:
    """Uninstall what was added since the environment was made and put the installers back;
    False if any other version changed, which only making it again undoes."""
    baseline = json.loads((venv / ".baseline.json").read_text())
    now = distributions(venv)
    changed = {name for name, version in baseline.items() if now.get(name) != version}
    if changed - INSTALLERS:
        return False
    if added := set(now) - set(baseline):
        _uv(venv, "uninstall", *added)
    if changed:
        _uv(venv, "install", *[f"{n}=={baseline[n]}" for n in changed])
    return distributions(venv) == baseline


def prepare(name: str = KERNEL) -> Path:
    """A runtime's environment, made or reset, for tests that run something else in it."""
    return make(RUNTIMES[name])


def build_wheel() -> Path:
    """A wheel of d2lsave (with d2lsetup) from this checkout, built once for its sources."""
    package = sorted(path for path in (ROOT / "d2lsave").iterdir() if path.is_file())
    folder = DIST / digest([ROOT / "pyproject.toml", ROOT / "d2lsetup.py", *package])[:16]
    if not list(folder.glob("d2lsave-*.whl")):
        # setuptools copies into build/ and never removes what a source no longer has
        shutil.rmtree(ROOT / "build", ignore_errors=True)
        _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", folder, ROOT)
    (wheel,) = folder.glob("d2lsave-*.whl")
    return wheel


def kernel_variables(venv: Path, wheel: Path) -> dict[str, str]:
    """What makes the environment's kernel findable and points the first cells at `wheel`;
    pip compiles nothing it installs to bytecode (`--compile` off), which changes no version."""
    kernels = str(venv / "share" / "jupyter")
    return {"JUPYTER_PATH": kernels, "D2LSAVE_WHEEL": str(wheel), "PIP_COMPILE": "0"}


@contextmanager
def kernel_environment(venv: Path, wheel: Path) -> Iterator[str]:
    """`kernel_variables` in force; yields a scratch folder to run notebooks in."""
    with mock.patch.dict(os.environ, kernel_variables(venv, wheel)):
        with tempfile.TemporaryDirectory() as scratch:
            yield scratch


def notebooks(frameworks: tuple[str, ...]) -> list[Path]:
    """The notebook in book/ of each page, in reading order, for each of `frameworks` the page
    is written in."""
    pages = [(md, framework) for md in toc_notebooks() for framework in page_frameworks(md)]
    return [derived_notebook(md, framework) for md, framework in pages if framework in frameworks]


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def imports(notebook: nbformat.NotebookNode) -> str:
    """Every absolute import of the code after the first cell, in order, but those tried in a
    block that copes with their failure (`except ImportError`), which are optional."""
    found = []
    for cell in code_cells(notebook)[1:]:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax; the book's cells have none
            continue
        optional = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.Try)
            and any(h.type is None or OPTIONAL.search(ast.unparse(h.type)) for h in block.handlers)
            for statement in block.body
            for node in ast.walk(statement)
        }
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        found += [
            ast.unparse(node)
            for node in sorted(nodes, key=lambda node: node.lineno)
            if getattr(node, "level", 0) == 0 and id(node) not in optional
        ]
    return "\n".join(dict.fromkeys(found))


def printed(cell: nbformat.NotebookNode, patterns: list[tuple[str, str]]) -> str:
    """What a code cell printed and the text of its results, as nbval compares them after its
    sanitizing patterns; stderr, figures and widget views are left out."""
    texts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            texts.append(output.text)
        elif output.output_type == "error":
            texts.append(f"{output.ename}: {output.evalue}\n")
        elif "text/plain" in output.get("data", {}) and WIDGET_VIEW not in output.data:
            texts.append(output.data["text/plain"] + "\n")
    text = "".join(texts)
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    return text


def compared(cell: nbformat.NotebookNode) -> bool:
    """Whether nbval compares a code cell's outputs (no nbval-ignore-output or nbval-skip)."""
    markers = dict(find_metadata_tags(cell.metadata)) | dict(find_comment_markers(cell.source))
    return markers.get("check", True) and not markers.get("skip", False)


def differences(stored: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[int]:
    """The code cells nbval compares, the first apart, whose printed text differs from the
    stored one, by index among the notebook's cells; appended cells are not compared."""
    patterns = get_sanitize_patterns(SANITIZE.read_text())
    cells = zip(stored.cells, executed.cells, strict=False)
    pairs = [(i, old, new) for i, (old, new) in enumerate(cells) if old.cell_type == "code"]
    return [
        i
        for i, old, new in pairs[1:]
        if compared(old) and printed(old, patterns) != printed(new, patterns)
    ]


def execute(notebook: nbformat.NotebookNode, kernel: str, folder: str) -> list[tuple[int, str]]:
    """Run every cell of a notebook in a fresh kernel: (number among the code cells,
    `ename: evalue`) of each that failed."""
    cells = code_cells(notebook)
    for cell in cells:
        cell.outputs, cell.execution_count = [], None
    resources = {"metadata": {"path": folder}}
    NotebookClient(
        notebook, timeout=900, kernel_name=kernel, allow_errors=True, resources=resources
    ).execute()
    return [
        (number, f"{output.ename}: {output.evalue}")
        for number, cell in enumerate(cells)
        for output in cell.outputs
        if output.output_type == "error"
    ]


def run(name: str = KERNEL) -> Run:
    """Make (or reset) a runtime's environment and run its notebooks there."""
    runtime, started = RUNTIMES[name], time.monotonic()
    venv = make(runtime)
    before = distributions(venv)
    if held := [n for n in ABSENT if n in before]:
        raise RuntimeError(f"the environment {venv} should not hold {held}")
    result = Run(name, before, before)
    with kernel_environment(venv, build_wheel()) as scratch:
        result.seconds["environment"] = time.monotonic() - started
        for path in [path for path in notebooks(runtime.whole) if path.name != EXPLORER]:
            started = time.monotonic()
            result.ran[path.name] = notebook = nbformat.read(path, as_version=4)
            if failed := execute(notebook, name, scratch):
                result.errors[path.name] = failed[0]
            result.differences[path.name] = differences(nbformat.read(path, 4), notebook)
            result.seconds[path.name] = time.monotonic() - started
        # one kernel: each notebook's first cell, then every import of its code
        started, paths, cells = time.monotonic(), notebooks(runtime.first), []
        for path in paths:
            notebook = nbformat.read(path, as_version=4)
            sources = [code_cells(notebook)[0].source, imports(notebook)]
            cells += [nbformat.v4.new_code_cell(source) for source in sources]
        failed = execute(nbformat.v4.new_notebook(cells=cells), name, scratch) if cells else []
        for number, path in enumerate(paths):
            result.ran[path.name] = nbformat.v4.new_notebook(cells=cells[2 * number :][:2])
            if mine := [(cell % 2, error) for cell, error in failed if cell // 2 == number]:
                result.errors[path.name] = mine[0]
        result.seconds["first cells"] = time.monotonic() - started
    result.after = distributions(venv)
    return result
