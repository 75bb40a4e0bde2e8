"""The book's commands: `python -m tools <command>` (the Makefile's targets are aliases).

Run with any Python 3: each command first makes or reuses the environments it needs
(tools/env.py), then runs in `.venv`. The data flows one way:

    book/*.md -> notebooks: d2lsave/, book/*.ipynb (executed), notebooks/, assignments/
              -> book: _build/html (and its PDF)

`notebooks` is the one command that writes committed files; `book` writes only `_build/` and
the merged pages `book/*.tabs.json`, which git ignores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from tools import env

# command -> (what it needs made first, its help)
COMMANDS = {
    "notebooks": (
        ("frameworks",),
        "regenerate every derived file: d2lsave, the executed "
        "notebooks (those whose inputs changed), their exports and the assignment's",
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


def in_book_env(argv: list[str], needs: tuple[str, ...]) -> None:
    """Make the environments `needs`, then go on in `.venv`'s Python (this process, replaced)."""
    env.ensure(*needs)
    if Path(sys.prefix).resolve() != env.VENV.resolve():
        os.environ.setdefault("MPLCONFIGDIR", str(env.MPLCONFIGDIR))
        os.execv(env.PYTHON, [str(env.PYTHON), "-m", "tools", *argv])


def lab_command() -> list[str]:
    """JupyterLab on book/, with the settings that open a page's `.md` as a notebook, whose
    saving writes the `.md` only (lab-settings/overrides.json)."""
    root = ["--allow-root"] if os.geteuid() == 0 else []
    settings = env.ROOT / "lab-settings"
    jupyter = Path(sys.executable).parent / "jupyter"
    return [
        str(jupyter),
        "lab",
        "--notebook-dir=book",
        f"--LabApp.app_settings_dir={settings}",
        *root,
    ]


def lock(options: list[str]) -> int:
    """`uv pip compile` of every environment's requirements into its constraints, from the
    indexes pip uses; pins already there are kept unless `options` say `--upgrade`."""
    from d2lsetup import FRAMEWORKS
    from tools.pip_sources import source_options

    own = {f"-{fw.name}" for fw in FRAMEWORKS.values() if fw.environment != ".venv"}
    for suffix in ["", *sorted(own)]:
        # .venv's own Python; Python 3.11 for an environment of its own (tools/env.py)
        python = ["--python-version", "3.11"] if suffix else ["--python", sys.executable]
        command = [
            str(Path(sys.executable).parent / "uv"),
            "pip",
            "compile",
            "--quiet",
            *source_options(constraints=False),
            *python,
            *options,
            "--custom-compile-command",
            "make lock",
            f"requirements{suffix}.txt",
            "-o",
            f"constraints{suffix}.txt",
        ]
        if subprocess.run(command, cwd=env.ROOT).returncode != 0:
            return 1
    return 0


def build_book(pdf: bool) -> int:
    from tools import pdf as printer
    from tools import render, web_assets

    web_assets.stage()
    if render.write_all() != 0:
        return 1
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    built = subprocess.run([jupyter_book, "build", ".", "--warningiserror", "--keep-going"])
    if built.returncode != 0 or not pdf:
        return built.returncode
    env.ensure("chromium")
    return printer.main(["--if-changed"])


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
    in_book_env(argv, COMMANDS[args.command][0])
    if args.command == "notebooks":
        from tools import derived

        return derived.main(run=not args.no_execute, everything=args.all)
    if args.command == "book":
        return build_book(pdf=not args.no_pdf)
    if args.command == "pdf":
        from tools import pdf as printer

        return printer.main([])
    if args.command in ("assignment", "grade"):
        from tools import assignment

        return assignment.main(
            ["release"] if args.command == "assignment" else ["grade", *args.options]
        )
    if args.command == "bench":
        from tools import bench

        return build_book(pdf=False) or bench.main(args.options)
    if args.command == "lock":
        return lock(args.options)
    if args.command == "lab":
        return subprocess.run(lab_command(), cwd=env.ROOT).returncode
    if args.command == "classroom":
        from tools import classroom

        print(*classroom.build(), sep="\n")
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
