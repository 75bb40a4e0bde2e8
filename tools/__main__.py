"""The book's commands: `python -m tools <command>` (the Makefile's targets are aliases).

Runs on any Python 3: each command first makes or reuses the environments it needs
(tools/env.py), then goes on in `.venv`. `notebooks` is the one command that writes committed
files (d2lsave/, book/*.ipynb, notebooks/, assignments/); the others write under `_build/`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

from tools import env

# command -> (the environments it needs, its help)
COMMANDS = {
    "notebooks": (
        ("frameworks",),
        "regenerate every derived file: d2lsave, the executed notebooks (those whose inputs "
        "changed), their exports and the assignment's",
    ),
    "book": (("node",), "build the HTML book into _build/html, and its PDF unless --no-pdf"),
    "pdf": (("node", "chromium"), "print the built book to _build/pdf/book.pdf"),
    "assignment": ((), "the student release and the teacher's course: _build/assignment/"),
    "grade": (("bubblewrap",), "grade one folder per student: _build/assignment/grades.csv"),
    "classroom": ((), "zip the launchable notebooks for a class: _build/classroom.zip"),
    "lab": (("frameworks",), "JupyterLab on book/, where the .md pages open as notebooks"),
    "bench": (
        ("frameworks", "node", "chromium"),
        "build the book, then weigh and time its pages, the readers, the generators, the disk I/O",
    ),
    "lock": ((), "resolve each environment's constraints again from its requirements"),
    "env": (("frameworks", "node", "chromium", "bubblewrap"), "make every environment"),
}


def lab_command() -> list[str]:
    """JupyterLab on book/, with the settings that open a page's `.md` as a notebook whose
    saving writes the `.md` only (lab-settings/overrides.json)."""
    root = ["--allow-root"] if os.geteuid() == 0 else []
    jupyter = str(Path(sys.executable).parent / "jupyter")
    settings = f"--LabApp.app_settings_dir={env.ROOT / 'lab-settings'}"
    return [jupyter, "lab", "--notebook-dir=book", settings, *root]


def lock(options: list[str]) -> int:
    """`uv pip compile` each environment's requirements into its constraints, from the indexes
    pip uses; pins already there are kept unless `options` say `--upgrade`."""
    from d2lsetup import FRAMEWORKS
    from tools.pip_sources import source_options

    own = {f"-{fw.name}" for fw in FRAMEWORKS.values() if fw.environment != ".venv"}
    uv = [str(Path(sys.executable).parent / "uv"), "pip", "compile", "--quiet"]
    for suffix in ["", *sorted(own)]:
        # .venv's own Python; Python 3.11 for an environment of its own (tools/env.py)
        python = ["--python-version", "3.11"] if suffix else ["--python", sys.executable]
        files = [f"requirements{suffix}.txt", "-o", f"constraints{suffix}.txt"]
        sources = source_options(constraints=False)
        command = [*uv, *sources, *python, *options, "--custom-compile-command", "make lock"]
        if subprocess.run([*command, *files], cwd=env.ROOT).returncode != 0:
            return 1
    return 0


def build_book(pdf: bool = True) -> int:
    """Stage the web assets, merge the notebook pages, run Sphinx, then print the PDF."""
    from tools import pdf as printer
    from tools import render, web_assets

    web_assets.stage()
    built = render.build()
    if built.returncode != 0 or not pdf:
        return built.returncode
    env.ensure("chromium")
    return printer.main(["--if-changed"])


def run(args: argparse.Namespace) -> int:
    """Run one command, in `.venv`; a command imports only the modules it uses."""
    options = getattr(args, "options", [])

    def tool(name: str):
        return importlib.import_module(f"tools.{name}")

    return {
        "notebooks": lambda: tool("derived").main(run=not args.no_execute, everything=args.all),
        "book": lambda: build_book(pdf=not args.no_pdf),
        "pdf": lambda: tool("pdf").main([]),
        "assignment": lambda: tool("assignment").main(["release"]),
        "grade": lambda: tool("assignment").main(["grade", *options]),
        "classroom": lambda: print(*tool("classroom").build(), sep="\n") or 0,
        "lab": lambda: subprocess.run(lab_command(), cwd=env.ROOT).returncode,
        "bench": lambda: build_book(pdf=False) or tool("bench").main(options),
        "lock": lambda: lock(options),
        "env": lambda: 0,
    }[args.command]()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m tools", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (_, text) in COMMANDS.items():
        command = commands.add_parser(name, help=text, description=text)
        if name == "notebooks":
            command.add_argument("--all", action="store_true", help="execute every notebook")
            command.add_argument(
                "--no-execute", action="store_true", help="fail on a stale notebook instead"
            )
        if name == "book":
            command.add_argument("--no-pdf", action="store_true", help="leave the PDF as it is")
        if name in ("grade", "lock", "bench"):
            command.add_argument("options", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    env.ensure(*COMMANDS[args.command][0])
    if Path(sys.prefix).resolve() != env.VENV.resolve():  # go on in .venv's Python
        os.environ.setdefault("MPLCONFIGDIR", str(env.MPLCONFIGDIR))
        os.execv(env.PYTHON, [str(env.PYTHON), "-m", "tools", *argv])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
