"""The book's notebooks where readers run them (Colab's versions, a bare Jupyter, Binder's), each
runtime a uv environment under `_build/runtimes/<name>`, made once and reset before each use."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import nbclient
import nbformat
from nbval.plugin import find_comment_markers, find_metadata_tags, get_sanitize_patterns

from d2lsetup import DEFAULT, FRAMEWORKS, INSTALLERS, PACKAGES
from tools import pip_sources
from tools.book import ROOT, digest, toc_notebooks
from tools.frameworks import derived_notebook, page_frameworks

RUNTIME = ROOT / "tools" / "colab_runtime.txt"
BINDER = ROOT / "binder" / "requirements.txt"
BUILD = ROOT / "_build" / "runtimes"
DIST = BUILD / "dist"
UV = Path(sys.executable).parent / "uv"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
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
    """How a runtime's environment is made and which notebooks run there."""

    requirements: tuple[str, ...]  # uv pip install arguments
    python: str | None  # the X.Y version it needs; None: this environment's base Python
    whole: tuple[str, ...]  # frameworks whose notebooks run to their end, each in a new kernel
    first: tuple[str, ...]  # frameworks whose notebooks' first cells and imports run, one kernel


BARE_KERNEL = f"ipykernel=={pins(ROOT / 'constraints.txt')['ipykernel']}"
COLAB_PYTHON = re.search(r"^# python: (\d+\.\d+)$", RUNTIME.read_text(), re.M)[1]
RUNTIMES = {
    "colab": Runtime(("-r", str(RUNTIME)), COLAB_PYTHON, COLAB_FRAMEWORKS, LACKING),
    "bare": Runtime((BARE_KERNEL,), None, (), (DEFAULT,)),
    "binder": Runtime(("-r", str(BINDER)), None, (), (DEFAULT,)),
}


@dataclass
class Run:
    """What the notebooks did in a runtime."""

    before: dict[str, str]  # distributions before the first notebook
    after: dict[str, str] = field(default_factory=dict)  # and after the last one
    ran: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # name -> executed
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> first failure
    differences: dict[str, list[int]] = field(default_factory=dict)  # name -> differing cells

    @property
    def installed(self) -> list[str]:
        return sorted(set(self.after) - set(self.before))

    @property
    def changed(self) -> list[str]:
        return sorted(n for n, v in self.before.items() if self.after.get(n) != v)


def _run(*args: str | Path, **kwargs) -> str:
    """What a command printed; CalledProcessError if it fails."""
    command = [str(a) for a in args]
    return subprocess.run(command, check=True, text=True, stdout=subprocess.PIPE, **kwargs).stdout


def find_python(version: str) -> Path:
    """`pythonX.Y` on PATH or in pyenv that runs (a pyenv shim may not), else NoPython."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [shutil.which(f"python{version}"), *sorted(pyenv.glob(f"{version}.*/bin/python"))]
    for candidate in filter(None, found):
        ran = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=False)
        if ran.stdout.startswith(f"Python {version}."):
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
    python = venv / "bin" / "python"
    _run(UV, "pip", command, "--quiet", "--python", python, *sources, *requirements)


def prepare(name: str = KERNEL) -> Path:
    """A runtime's environment with its kernel: the one made from the same inputs, reset."""
    runtime, venv = RUNTIMES[name], BUILD / name
    python = find_python(runtime.python) if runtime.python else Path(sys.executable)
    files = [Path(argument) for argument in runtime.requirements if Path(argument).is_file()]
    made_from = f"{python} {runtime.requirements} {digest(files)}"
    stamp = venv / ".made-from"
    if stamp.is_file() and stamp.read_text() == made_from and reset(venv):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    # the pip (and setuptools) `python -m venv` installs, from its own wheels, but with uv
    _run(python, "-m", "venv", "--without-pip", venv)
    where = "import ensurepip, pathlib; print(pathlib.Path(ensurepip.__file__).parent)"
    bundled = Path(_run(venv / "bin" / "python", "-c", where).strip()) / "_bundled"
    _uv(venv, "install", *sorted(bundled.glob("*.whl")))
    _uv(venv, "install", *runtime.requirements)
    kernel = venv / "share" / "jupyter" / "kernels" / name
    kernel.mkdir(parents=True)
    argv = [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernel / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name}))
    (venv / ".baseline.json").write_text(json.dumps(distributions(venv), indent=1))
    stamp.write_text(made_from)
    return venv


def reset(venv: Path) -> bool:
    """Put an environment back as it was made; False if more than its installers changed."""
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


@contextmanager
def kernel_environment(venv: Path, wheel: Path) -> Iterator[str]:
    """The environment's kernel findable and the first cells pointed at `wheel` (pip compiling
    nothing to bytecode, which changes no version); yields a scratch folder to run notebooks in."""
    kernels = str(venv / "share" / "jupyter")
    variables = {"JUPYTER_PATH": kernels, "D2LSAVE_WHEEL": str(wheel), "PIP_COMPILE": "0"}
    with mock.patch.dict(os.environ, variables), tempfile.TemporaryDirectory() as scratch:
        yield scratch


def notebooks(frameworks: tuple[str, ...]) -> list[Path]:
    """The book/ notebooks, in reading order, of each page in each of `frameworks` it has."""
    pages = [(md, framework) for md in toc_notebooks() for framework in page_frameworks(md)]
    return [derived_notebook(md, framework) for md, framework in pages if framework in frameworks]


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def imports(nodes: Iterable[ast.AST]) -> Iterator[str]:
    """The absolute imports among `nodes`, but the optional ones (in a `try` block)."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "level", 0) == 0:
            yield ast.unparse(node)
        elif not isinstance(node, ast.Try):
            yield from imports(ast.iter_child_nodes(node))


def printed(cell: nbformat.NotebookNode, patterns: list[tuple[str, str]]) -> str:
    """A code cell's printed text and results, as nbval compares them (no stderr or figures)."""
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
    """Indices of the cells after the first whose outputs nbval compares and finds changed."""
    patterns = get_sanitize_patterns((ROOT / "tests" / "nbval_sanitize.cfg").read_text())
    cells = zip(stored.cells, executed.cells, strict=False)
    pairs = [(i, old, new) for i, (old, new) in enumerate(cells) if old.cell_type == "code"]
    return [
        i
        for i, old, new in pairs[1:]
        if compared(old) and printed(old, patterns) != printed(new, patterns)
    ]


def failures(notebook: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(code cell number, `ename: evalue`) of each cell of a run notebook that failed."""
    return [
        (number, f"{output.ename}: {output.evalue}")
        for number, cell in enumerate(code_cells(notebook))
        for output in cell.outputs
        if output.output_type == "error"
    ]


def run(name: str = KERNEL) -> Run:
    """Make (or reset) a runtime's environment and run its notebooks there, each in a new kernel
    (nbclient clearing their outputs) but for the first cells, which share one."""
    venv, runtime = prepare(name), RUNTIMES[name]
    result = Run(distributions(venv))
    with kernel_environment(venv, build_wheel()) as scratch:
        options = {"cwd": scratch, "kernel_name": name, "timeout": 900, "allow_errors": True}
        for path in [path for path in notebooks(runtime.whole) if path.name != EXPLORER]:
            result.ran[path.name] = notebook = nbformat.read(path, as_version=4)
            nbclient.execute(notebook, **options)
            result.differences[path.name] = differences(nbformat.read(path, 4), notebook)
        firsts = []  # each notebook's first cell, then its unconditional imports, in one kernel
        for path in notebooks(runtime.first):
            code = code_cells(nbformat.read(path, as_version=4))
            trees = [ast.parse(cell.source) for cell in code[1:]]
            imported = dict.fromkeys(line for tree in trees for line in imports(tree.body))
            sources = [code[0].source, "\n".join(imported)]
            cells = [nbformat.v4.new_code_cell(source) for source in sources]
            result.ran[path.name] = nbformat.v4.new_notebook(cells=cells)
            firsts += cells
        nbclient.execute(nbformat.v4.new_notebook(cells=firsts), **options)
    failed = {page: failures(notebook) for page, notebook in result.ran.items()}
    result.errors = {page: errors[0] for page, errors in failed.items() if errors}
    result.after = distributions(venv)
    return result
