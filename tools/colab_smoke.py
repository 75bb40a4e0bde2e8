"""Run every notebook in an environment built from Colab's published versions (`make colab-smoke`).

The environment is made from `tools/colab_runtime.txt` alone (Colab's own pins, not this
book's constraints), with the Python version that file names, found on PATH or among pyenv's
versions. It holds what Colab preinstalls (torch, numpy, matplotlib, ipywidgets 7, anywidget,
IPython 7, the classic Notebook, JAX, TensorFlow) and neither d2l nor d2lsave, so each
notebook's setup cell has to install those two, and must leave every package that was there as
it was. GitHub is out of reach here, so the setup cell is pointed at a wheel built from this
checkout through the D2LSAVE_WHEEL variable.

Every page's PyTorch, JAX and TensorFlow notebooks run there, and what each cell prints is
compared with the outputs stored in book/ (as nbval compares them, with its sanitizing
patterns; stderr, figures, widgets and the cells nbval does not check are left out). The MXNet
notebooks must stop in their first cell, which names the local environment MXNet needs.

Creating the environment downloads torch from PyPI, so it is made once and kept in
`_build/colab-like-venv`, stamped with the file it was made from. Before every use it is put
back as it was made (`reset`): whatever a run installed is uninstalled, and an environment in
which a run changed a package's version is made again.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
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
from nbclient.exceptions import CellExecutionError
from nbval.plugin import find_comment_markers, find_metadata_tags, get_sanitize_patterns

from d2lsetup import INSTALLERS
from tools import pip_sources
from tools.book_notebooks import ROOT, toc_notebooks
from tools.frameworks import DEFAULT, derived_notebook, page_frameworks
from tools.notebooks import clear_outputs

RUNTIME = ROOT / "tools" / "colab_runtime.txt"
VENV = ROOT / "_build" / "colab-like-venv"
DIST = ROOT / "_build" / "dist"
KERNEL = "colab-like"
# Packages the setup cell must never change, whatever else it does.
KEPT = [
    "torch", "numpy", "matplotlib", "ipywidgets", "anywidget", "ipython",
    "jax", "jaxlib", "flax", "optax", "tensorflow", "keras", "tensorflow-datasets",
]  # fmt: skip
# The frameworks whose notebooks run on Colab, and those whose first cell stops there.
COLAB_FRAMEWORKS = ("pytorch", "jax", "tensorflow")
STOP_ON_COLAB = ("mxnet",)
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"  # nbval's patterns (pyproject.toml)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Modules Colab lacks and the setup cell installs; myst_nb must stay absent (the cell's fallback).
ABSENT = ["d2l", "d2lsave", "myst_nb"]
EXPLORER = "explorer.ipynb"
# Appended to a copy of the explorer notebook: the kernel side of the explorer, in this runtime.
EXPLORER_PROBE = """\
import json as _json
import anywidget as _anywidget, ipywidgets as _ipywidgets
explorer.set(noise=0.5, n=50)
_X, _y = explorer.data()
print("PROBE " + _json.dumps({"rows": len(_X), "labels": len(_y), "values": explorer.values,
      "anywidget": _anywidget.__version__, "ipywidgets": _ipywidgets.__version__}))"""
STAMP = ".made-from"
BASELINE = ".baseline.json"
DISTRIBUTIONS = (
    "import importlib.metadata as m, json, re;"
    "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version"
    " for d in m.distributions()}))"
)


class NoPython(RuntimeError):
    """The Python version an environment asks for is not on this machine."""


@dataclass
class SmokeResult:
    """What happened when the notebooks ran in an environment."""

    executed: list[str]  # notebooks run to their end, in order
    versions_before: dict[str, str]  # the KEPT packages, before the first notebook
    versions_after: dict[str, str]  # and after the last one
    installed_by_setup: list[str]  # distributions the setup cells added
    changed_by_setup: list[str] = field(default_factory=list)  # present ones they changed
    explorer: dict = field(default_factory=dict)  # what EXPLORER_PROBE printed
    stopped: dict[str, str] = field(default_factory=dict)  # notebook -> its first cell's error
    # notebook -> the code cells whose printed text differs from the stored outputs
    differences: dict[str, list[int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # environment, notebooks


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, text=True, **kwargs)


def python_version(requirements: Path = RUNTIME) -> str:
    """The Python version a requirements file names in its `# python: X.Y` line."""
    match = re.search(r"^# python: (\d+\.\d+)$", requirements.read_text(), re.M)
    if not match:
        raise ValueError(f"{requirements} names no Python version ('# python: X.Y')")
    return match[1]


def _reports(executable: str | Path, version: str) -> bool:
    """Whether an executable runs and is that Python version (a pyenv shim may not be)."""
    try:
        found = subprocess.run(
            [str(executable), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError:
        return False
    return found.returncode == 0 and found.stdout.strip() == version


def find_python(version: str) -> Path:
    """A `pythonX.Y` on PATH, or else the newest pyenv version X.Y.*; NoPython if neither."""
    name = f"python{version}"
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    installed = sorted(
        pyenv.glob(f"{version}.*/bin/{name}"),
        key=lambda p: [int(part) for part in re.findall(r"\d+", p.parent.parent.name)],
        reverse=True,
    )
    for candidate in [shutil.which(name), *installed]:
        if candidate and _reports(candidate, version):
            return Path(candidate)
    raise NoPython(
        f"no Python {version} on PATH or in {pyenv}; the Colab-like run needs one "
        f"(for example `pyenv install {version}`)"
    )


def distributions(venv: Path) -> dict[str, str]:
    """Every distribution installed in an environment: canonical name -> version."""
    python = venv / "bin" / "python"
    return json.loads(_run(python, "-c", DISTRIBUTIONS, capture_output=True, cwd=venv).stdout)


def importable(venv: Path, modules: list[str]) -> list[str]:
    """Which modules an environment can import (run outside the checkout, whose d2lsave/
    folder would otherwise be found first)."""
    code = (
        "import importlib.util, json;"
        f"print(json.dumps([m for m in {modules!r} if importlib.util.find_spec(m)]))"
    )
    python = venv / "bin" / "python"
    return json.loads(_run(python, "-c", code, capture_output=True, cwd=venv).stdout)


def make_environment(venv: Path, python: Path, installs: list[list[str]], kernel: str) -> bool:
    """An environment made by `installs` (pip arguments, one list per command), reused if
    it was made by the same commands from the same files and put back as it was made.

    Returns whether it was made anew. A kernel named `kernel` runs in it.
    """
    stamp = _stamp(python, installs)
    if (venv / STAMP).exists() and (venv / STAMP).read_text() == stamp and reset(venv):
        return False
    if venv.exists():
        shutil.rmtree(venv)
    _run(python, "-m", "venv", venv)  # with pip, which the notebooks' setup cells use
    for arguments in installs:
        _run(*installer(venv), *arguments)
    _run(venv / "bin" / "python", "-m", "ipykernel", "install", "--prefix", venv, "--name", kernel)
    (venv / BASELINE).write_text(json.dumps(distributions(venv), indent=1, sort_keys=True))
    (venv / STAMP).write_text(stamp)
    return True


def installer(venv: Path) -> list[str | Path]:
    """The command that installs into an environment before any notebook runs: uv, from
    the same sources as pip (tools/pip_sources.py), if this environment has it, since it
    installs torch and its CUDA libraries several times as fast. The setup cells still
    install with pip, as readers' do."""
    python, uv = venv / "bin" / "python", Path(sys.executable).parent / "uv"
    if uv.is_file():
        return [uv, "pip", "install", "--quiet", "--python", python, *pip_sources.source_options()]
    return [python, "-m", "pip", "install", "--quiet"]


def _stamp(python: Path, installs: list[list[str]]) -> str:
    """What an environment was made from: the interpreter, the commands and the files named."""
    digest = hashlib.sha256(f"{python.resolve()}\n{installs!r}".encode())
    for arguments in installs:
        for argument in arguments:
            if Path(argument).is_file():
                digest.update(Path(argument).read_bytes())
    return digest.hexdigest()


def reset(venv: Path) -> bool:
    """Uninstall what was added since the environment was made, and put the installers (pip,
    setuptools, wheel) back at their versions; False if any other version changed, since
    only making the environment again restores that."""
    baseline = json.loads((venv / BASELINE).read_text())
    now = distributions(venv)
    changed = [name for name, version in baseline.items() if now.get(name) != version]
    if set(changed) - INSTALLERS:
        return False
    pip = [venv / "bin" / "python", "-m", "pip"]
    added = sorted(set(now) - set(baseline))
    if added:
        _run(*pip, "uninstall", "--quiet", "--yes", *added)
    if changed:
        _run(*pip, "install", "--quiet", *[f"{name}=={baseline[name]}" for name in changed])
    return distributions(venv) == baseline


def build_wheel() -> Path:
    """A wheel of d2lsave built from this checkout."""
    if DIST.exists():
        shutil.rmtree(DIST)
    _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        DIST,
        ROOT,
        capture_output=True,
    )
    (wheel,) = DIST.glob("d2lsave-*.whl")
    return wheel


def with_setup_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The notebook with its first code cell's source replaced."""
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    first.source = source
    return notebook


GUARDS = {"ImportError", "ModuleNotFoundError", "Exception"}


def _required_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The absolute imports under `node`, but those tried in a block that copes with their
    failure (`except ImportError`): those are optional."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        if getattr(node, "level", 0) == 0:
            yield node
        return
    if isinstance(node, ast.Try):
        caught = {ast.unparse(h.type) if h.type else "Exception" for h in node.handlers}
        caught = {name for names in caught for name in names.strip("()").split(", ")}
        optional = bool(caught & GUARDS)
        for child in ast.iter_child_nodes(node):
            if not (optional and child in node.body):
                yield from _required_imports(child)
        return
    for child in ast.iter_child_nodes(node):
        yield from _required_imports(child)


def setup_and_imports(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook cut to its setup cell and one cell of every import statement its code
    holds: what an environment must get from the setup cell for the rest to run."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    imports = []
    for cell in code[1:]:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython syntax; the book's cells have none
            continue
        imports += [ast.unparse(node) for node in _required_imports(tree)]
    notebook.cells = [code[0], nbformat.v4.new_code_cell("\n".join(dict.fromkeys(imports)))]
    return notebook


@contextmanager
def kernel_environment(venv: Path, wheel: Path) -> Iterator[str]:
    """Variables that make a kernel of `venv` findable and point the setup cell at `wheel`;
    yields a scratch folder to run the notebooks in."""
    variables = {
        "JUPYTER_PATH": str(venv / "share" / "jupyter"),  # where the environment's kernel is
        "D2LSAVE_WHEEL": str(wheel),  # read by the setup cells
    }
    with mock.patch.dict(os.environ, variables), tempfile.TemporaryDirectory() as scratch:
        yield scratch


def notebooks_to_run(frameworks: tuple[str, ...]) -> list[tuple[str, Path]]:
    """(framework, executed notebook in book/) of every page in reading order, for each of
    `frameworks` the page is written in."""
    return [
        (framework, derived_notebook(md, framework))
        for md in toc_notebooks()
        for framework in page_frameworks(md)
        if framework in frameworks
    ]


def printed(cell: nbformat.NotebookNode, patterns: list[tuple[str, str]]) -> str:
    """What a code cell printed (stdout) and the text of its results, as nbval compares them
    after its sanitizing patterns; stderr, figures and widget views are left out."""
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


def checked_by_nbval(cell: nbformat.NotebookNode) -> bool:
    """Whether nbval compares a code cell's outputs (no nbval-ignore-output or nbval-skip)."""
    markers = dict(find_metadata_tags(cell.metadata)) | dict(find_comment_markers(cell.source))
    return markers.get("check", True) and not markers.get("skip", False)


def output_differences(stored: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells nbval checks, the setup cell apart, whose printed text in
    `executed` differs from that in `stored`; cells appended to `executed` are not compared."""
    patterns = get_sanitize_patterns(SANITIZE.read_text())
    code = [
        (index, old, new)
        for index, (old, new) in enumerate(zip(stored.cells, executed.cells, strict=False))
        if old.cell_type == "code"
    ]
    return [
        index
        for index, old, new in code[1:]
        if checked_by_nbval(old) and printed(old, patterns) != printed(new, patterns)
    ]


def _stop(cell: nbformat.NotebookNode) -> str:
    """The error a cell stopped with, as `ename: evalue`."""
    (error,) = [output for output in cell.outputs if output.output_type == "error"]
    return f"{error.ename}: {error.evalue}"


def execute_notebooks(
    venv: Path,
    kernel: str,
    wheel: Path,
    setup_cells: dict[str, str] | None = None,
    frameworks: tuple[str, ...] = (DEFAULT,),
    stopping: tuple[str, ...] = (),
    whole: bool = True,
) -> tuple[list[str], dict, dict[str, str], dict[str, list[int]]]:
    """Run each notebook of `frameworks` and `stopping` from a clean start on the
    environment's kernel, in a scratch folder (with its framework's cell of `setup_cells` as
    its first code cell, if given), or only its setup and imports unless `whole`. A notebook
    of `stopping` is expected to stop with an error in its first cell.

    Returns the notebooks run to their end, in order; what the explorer probe printed; the
    first cell's error of each notebook that stopped; and, for each notebook run, the cells
    whose printed text differs from the stored outputs (`output_differences`).
    """
    executed, probe, stopped, differences = [], {}, {}, {}
    with kernel_environment(venv, wheel) as scratch:
        for framework, ipynb in notebooks_to_run(frameworks + stopping):
            stored = nbformat.read(ipynb, as_version=4)
            notebook = clear_outputs(nbformat.read(ipynb, as_version=4))
            if setup_cells is not None:
                notebook = with_setup_cell(notebook, setup_cells[framework])
            if not whole:
                notebook = setup_and_imports(notebook)
            elif ipynb.name == EXPLORER:
                notebook.cells.append(nbformat.v4.new_code_cell(EXPLORER_PROBE))
            client = NotebookClient(
                notebook, timeout=900, kernel_name=kernel, resources={"metadata": {"path": scratch}}
            )
            if framework in stopping:
                try:
                    client.execute()
                except CellExecutionError:
                    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
                    stopped[ipynb.name] = _stop(first)
                    continue
                raise RuntimeError(
                    f"{ipynb.name} ran to its end, but should stop in its first cell"
                )
            client.execute()
            executed.append(ipynb.name)
            differences[ipynb.name] = output_differences(stored, notebook) if whole else []
            if whole and ipynb.name == EXPLORER:
                probe = _probe_output(notebook.cells[-1])
    return executed, probe, stopped, differences


def _probe_output(cell: nbformat.NotebookNode) -> dict:
    text = "".join(output.get("text", "") for output in cell.outputs)
    return json.loads(text.split("PROBE ", 1)[1])


def colab_installs() -> list[list[str]]:
    """pip arguments that make the Colab-like environment: Colab's pins and nothing else."""
    return [["-r", str(RUNTIME)]]


def prepare() -> Path:
    """The Colab-like environment, made or reset, for tests that run something else in it;
    NoPython without the Python it needs."""
    make_environment(VENV, find_python(python_version()), colab_installs(), KERNEL)
    return VENV


def run_in(
    venv: Path,
    python: Path,
    installs: list[list[str]],
    kernel: str,
    setup_cells: dict[str, str] | None,
    frameworks: tuple[str, ...] = (DEFAULT,),
    stopping: tuple[str, ...] = (),
    whole: bool = True,
) -> SmokeResult:
    """Make (or reset) an environment, then run the notebooks of `frameworks` and `stopping`
    in it (see `execute_notebooks`) and record what the setup cells installed and changed."""
    started = time.monotonic()
    make_environment(venv, python, installs, kernel)
    made = time.monotonic()
    already = importable(venv, ABSENT)
    if already:
        raise RuntimeError(f"the environment {venv} should not hold {already}")
    before = distributions(venv)
    executed, probe, stopped, differences = execute_notebooks(
        venv, kernel, build_wheel(), setup_cells, frameworks, stopping, whole
    )
    after = distributions(venv)
    return SmokeResult(
        executed=executed,
        versions_before={name: before.get(name, "absent") for name in KEPT},
        versions_after={name: after.get(name, "absent") for name in KEPT},
        installed_by_setup=sorted(set(after) - set(before)),
        changed_by_setup=sorted(n for n in before if after.get(n) != before[n]),
        explorer=probe,
        stopped=stopped,
        differences=differences,
        seconds={"environment": made - started, "notebooks": time.monotonic() - made},
    )


def run(setup_cells: dict[str, str] | None = None, fresh: bool = False) -> SmokeResult:
    """Every notebook in the Colab-like environment, MXNet's stopping in its first cell;
    NoPython without the Python it needs."""
    python = find_python(python_version())
    if fresh and VENV.exists():
        shutil.rmtree(VENV)
    return run_in(
        VENV, python, colab_installs(), KERNEL, setup_cells, COLAB_FRAMEWORKS, STOP_ON_COLAB
    )


def report(result: SmokeResult, where: str) -> int:
    """Print what a run did; 0 if the setup cells changed no package that was there but
    the installers, and every notebook printed what its stored outputs show."""
    print(f"executed {', '.join(result.executed)} in {where}")
    for name, error in result.stopped.items():
        print(f"stopped in its first cell: {name}: {error.splitlines()[0]}")
    differing = {name: cells for name, cells in result.differences.items() if cells}
    print(f"cells printing other text than stored: {differing or 'none'}")
    print(f"before: {result.versions_before}")
    print(f"after:  {result.versions_after}")
    print(f"installed by the setup cells: {result.installed_by_setup}")
    print(f"changed by the setup cells: {result.changed_by_setup or 'nothing'}")
    print(f"(of which only {', '.join(sorted(INSTALLERS))} may change)")
    print(f"explorer in the kernel: {result.explorer}")
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in result.seconds.items()))
    return 0 if set(result.changed_by_setup) <= INSTALLERS and not differing else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="make the environment anew")
    options = parser.parse_args(argv)
    try:
        result = run(fresh=options.fresh)
    except NoPython as missing:
        print(f"colab-smoke skipped: {missing}")
        return 0
    return report(result, "a Colab-like environment")


if __name__ == "__main__":
    sys.exit(main())
