"""Make or reuse the environments the book's commands run in; standard library only.

Each environment records the sha256 of the files it was made from (`.inputs` inside it), and
is made again when they change: the same rule as the executed notebooks, whose stored digest
says what their outputs were made from. Nothing is decided by file times.

* `.venv`, the book's own Python (`PYTHON`, 3.11 by default): `requirements.txt` pinned by
  `constraints.txt`, d2l without its dependencies, and this checkout's d2lsave. uv installs it,
  from the same indexes and wheel folders pip is set up to use (tools/pip_sources.py);
* `.venv-mxnet` for each framework whose `environment` (d2lsetup.FRAMEWORKS) is not `.venv`:
  MXNet 1.9.1 needs numpy < 1.24, so it gets Python 3.11 and `requirements-mxnet.txt`, and its
  Jupyter kernel is registered in `.venv`, where nbval and JupyterLab find it;
* `node_modules/`, the browser code the book serves itself (`npm ci`);
* Debian's `chromium` (the PDF and the browser tests) and `bubblewrap` (grading), installed with
  apt where missing.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tools.book import ROOT, digest
from tools.pip_sources import source_options

VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
MPLCONFIGDIR = ROOT / "_build" / "matplotlib"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's, never a downloaded one
DEBIAN = {"chromium": CHROMIUM, "bubblewrap": "bwrap"}


def run(*command: str | Path, **options) -> None:
    print("+", shlex.join(map(str, command)), flush=True)
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT, **options)


def _made(stamp: Path, inputs: list[Path], make) -> None:
    """Run `make` unless `stamp` holds the digest of `inputs`; record it after."""
    wanted = digest(inputs)
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    make()
    stamp.write_text(wanted + "\n")


def _python_env(folder: Path, python: str, requirements: str, constraints: str) -> None:
    """A venv of `python` with `requirements` under `constraints`, d2l and d2lsave."""
    if not (folder / "bin" / "python").exists():
        run(python, "-m", "venv", folder)
    interpreter = folder / "bin" / "python"
    uv = [VENV / "bin" / "uv", "pip", "--quiet", "install", "--python", interpreter]
    sources = source_options(python=PYTHON)  # .venv's pip: the system Python may have none
    run(*uv, *sources, "-r", requirements, "-c", constraints)
    run(*uv, *sources, "--no-deps", "-r", "requirements-nodeps.txt")
    pip = [interpreter, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"]
    run(*pip, "-e", ".")
    MPLCONFIGDIR.mkdir(parents=True, exist_ok=True)  # the font cache, before any notebook plots
    fonts = {**os.environ, "MPLCONFIGDIR": str(MPLCONFIGDIR)}
    run(interpreter, "-c", "import matplotlib.font_manager", env=fonts)


def book_env() -> None:
    """`.venv`, with uv first (pinned in requirements.txt) to install the rest."""
    inputs = [ROOT / n for n in ("requirements.txt", "requirements-nodeps.txt", "constraints.txt")]

    def make() -> None:
        if not PYTHON.exists():
            run(sys.executable, "-m", "venv", VENV)  # the Python `make` ran this with
        uv = next(line for line in inputs[0].read_text().splitlines() if line.startswith("uv=="))
        run(PYTHON, "-m", "pip", "install", "--quiet", uv)
        _python_env(VENV, str(PYTHON), "requirements.txt", "constraints.txt")

    _made(VENV / ".inputs", [*inputs, ROOT / "pyproject.toml"], make)


def framework_envs() -> None:
    """The environment of each framework that cannot share `.venv`, and its kernel."""
    from d2lsetup import FRAMEWORKS  # beside tools/, on the path as tools/ is

    for framework in FRAMEWORKS.values():
        if framework.environment == ".venv":
            continue
        folder, name = ROOT / framework.environment, framework.name
        inputs = [ROOT / f"requirements-{name}.txt", ROOT / f"constraints-{name}.txt"]

        def make(folder: Path = folder, framework=framework, inputs=inputs) -> None:
            python = os.environ.get(f"PYTHON_{framework.name.upper()}", "python3.11")
            _python_env(folder, python, inputs[0].name, inputs[1].name)
            kernel = [framework.kernel, "--display-name", framework.kernel_title]
            install = [folder / "bin" / "python", "-m", "ipykernel", "install", "--prefix", VENV]
            run(*install, "--name", *kernel, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        _made(folder / ".inputs", [*inputs, ROOT / "requirements-nodeps.txt"], make)


def node_modules() -> None:
    npm_ci = ("npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
    inputs = [ROOT / "package.json", ROOT / "package-lock.json"]
    _made(ROOT / "node_modules" / ".inputs", inputs, lambda: run(*npm_ci))


def debian(package: str) -> None:
    """Install a Debian package with apt unless its program is there."""
    if shutil.which(DEBIAN[package]) or Path(DEBIAN[package]).exists():
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    try:
        run(*sudo, "apt-get", "install", "-y", package)
    except subprocess.CalledProcessError:
        run(*sudo, "apt-get", "update")
        run(*sudo, "apt-get", "install", "-y", package)


STEPS = {
    "python": book_env,
    "frameworks": framework_envs,
    "node": node_modules,
    "chromium": lambda: debian("chromium"),
    "bubblewrap": lambda: debian("bubblewrap"),
}


def ensure(*needs: str) -> None:
    """Make or reuse what a command needs, in the order of STEPS (`.venv` first: it has uv)."""
    for name, step in STEPS.items():
        if name in needs or name == "python":
            step()


if __name__ == "__main__":
    ensure(*sys.argv[1:])
