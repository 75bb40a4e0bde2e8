"""The graded assignment (nbgrader): student notebooks without the answers, and grading here,
each student in a sandbox, into a CSV with a reason for every lost point."""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import jupytext
import nbformat

from tools import sandbox
from tools.book import ROOT, config, display_path, is_notebook, write_if_changed
from tools.classroom import launch_links
from tools.frameworks import DEFAULT, derived_notebook, split

SOURCES = ROOT / "assignments"
STUDENT_COPIES = SOURCES / "student"
OUT = ROOT / "_build" / "assignment"
ASSIGNMENT = "synthetic-regression-data"
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")  # nbgrader's, then its interrupt
# what nbgrader logs when it could not run a notebook to its end, and what the score sheet says
LOG_REASONS = {
    r"Kernel didn't respond in": "the kernel did not start within {startup:g} s",
    r"Kernel died before replying to kernel_info": "the kernel exited as it started",
    r"DeadKernelError|Kernel died": "the kernel died while running the notebook",
    r"became unresponsive": "the kernel stopped responding to interrupts",
    r"Timeout waiting for IOPub output": (
        "the kernel's output did not arrive in time (the computer was too busy)"
    ),
}
IMPORT_LINE = re.compile(r"^(?:from \w[\w.]* )?import .+$", re.M)
EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit)):? ?(.*)$", re.M)
COURSE_CONFIG = """\
from nbgrader.utils import is_grade, is_locked

c = get_config()  # nbgrader's course settings, written by tools.assignment
c.CourseDirectory.course_id = "{assignment}"
c.Execute.timeout_func = lambda cell: (
    {given:g} if is_locked(cell) and not is_grade(cell) else {cell:g})
c.Execute.startup_timeout = {startup:g}
c.Execute.iopub_timeout = 60  # a busy machine holds outputs back; the replies record the errors
c.Execute.raise_on_iopub_timeout = False
"""
README = """\
Assignment: Synthetic Regression Data

Open each notebook in Colab, SageMaker Studio Lab or your own Jupyter, run it from the
top, and replace each `raise NotImplementedError()` by your answer. The check cell under
each answer tests it; the grader runs more checks. Hand in the notebooks, saved with
their file names unchanged.
"""


class AssignmentError(ValueError):
    """Bad input to a command: the message names the parameter, its value and what is accepted."""


@dataclass(frozen=True)
class Limits:
    """A grading run's time limits, in seconds; given cells get more, as their imports compile
    torch's bytecode (minutes on a busy two-core machine)."""

    cell: float = 60
    given_cell: float = 600
    startup: float = 300  # a kernel's start
    student: float = 1800  # all the notebooks of one student together

    def config(self) -> str:
        """The nbgrader course configuration that applies these limits."""
        rounded = {"cell": max(1, round(self.cell)), "given": max(1, round(self.given_cell))}
        return COURSE_CONFIG.format(assignment=ASSIGNMENT, startup=self.startup, **rounded)

    def of(self, cell: nbformat.NotebookNode) -> float:
        """The limit of `cell`, as the configuration's `timeout_func` gives it."""
        return self.given_cell if is_given(cell) else self.cell


class Task(NamedTuple):
    notebook: str  # the released notebook's file name
    task: str  # the check cell's grade_id
    points: float


class Row(NamedTuple):  # one line of the score sheet
    student: str
    notebook: str
    task: str
    score: float
    max_score: float
    message: str


def grading(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_given(cell: nbformat.NotebookNode) -> bool:
    """Whether `cell` is given: locked, neither an answer nor a check."""
    from nbgrader.utils import is_grade, is_locked

    return is_locked(cell) and not is_grade(cell)


# --- the notebooks ------------------------------------------------------------------------------


def sources() -> list[Path]:
    """The assignment's MyST notebooks, by name."""
    return sorted(path for path in SOURCES.glob("*.md") if is_notebook(path))


def source_notebook(md: Path) -> nbformat.NotebookNode:
    """nbgrader's source notebook of `md`, answers and hidden tests included, ids by position."""
    notebook = split(jupytext.read(md), DEFAULT, display_path(md))
    notebook.metadata.pop("jupytext", None)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    return notebook


def student_notebook(md: Path) -> nbformat.NotebookNode:
    """What `nbgrader generate_assignment` releases of `md`, by its preprocessors but SaveCells."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import SaveCells

    notebook, resources = source_notebook(md), {}
    for step in GenerateAssignment.class_traits()["preprocessors"].default():
        if step is not SaveCells:
            notebook, resources = step().preprocess(notebook, resources)
    return notebook


def regenerate(execute: bool = True, everything: bool = False) -> list[str]:
    """Write each source's executed `.ipynb` (see `tools.execute.refresh`) and student copy where
    their bytes change; a report line per file written."""
    from tools.execute import refresh, write

    report, copies = [], set()
    for md in sources():
        what, notebook = refresh(md, everything, execute=execute)
        if write(md, notebook) or what == "executed":
            report.append(f"{what}: {display_path(derived_notebook(md))}")
        copy = STUDENT_COPIES / f"{md.stem}.ipynb"
        if write_if_changed(copy, nbformat.writes(student_notebook(md)) + "\n"):
            report.append(f"written: {display_path(copy)}")
        copies.add(copy)
    for stale in set(STUDENT_COPIES.glob("*.ipynb")) - copies:  # its source is gone
        stale.unlink()
        report.append(f"removed: {display_path(stale)}")
    return report


def _notebooks(bundle: Path | None = None) -> dict[str, nbformat.NotebookNode]:
    """The source notebooks by released file name: of the sources, or of a course folder."""
    if bundle is None:
        return {f"{md.stem}.ipynb": source_notebook(md) for md in sources()}
    folder = bundle / "source" / ASSIGNMENT
    return {path.name: nbformat.read(path, 4) for path in sorted(folder.glob("*.ipynb"))}


def tasks(bundle: Path | None = None) -> list[Task]:
    """Every graded check, in notebook and cell order, of the sources or of a course folder."""
    return [
        Task(name, grading(cell)["grade_id"], grading(cell)["points"])
        for name, notebook in _notebooks(bundle).items()
        for cell in notebook.cells
        if grading(cell).get("grade")
    ]


# --- release ------------------------------------------------------------------------------------


def nbgrader(
    course: Path, *args: str, scratch: Path | None = None, sandboxed: bool = False
) -> subprocess.Popen:
    """`nbgrader ARGS` in `course`, in a session of its own, with this environment's `alembic`;
    with `scratch`, HOME and TMPDIR there, no pip index, and `sandboxed` writing nowhere else."""
    argv = [sys.executable, "-m", "nbgrader", *args]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "MPLBACKEND": "Agg"}
    if scratch:
        for folder in ("home", "tmp"):
            (scratch / folder).mkdir()
        env |= {"HOME": f"{scratch}/home", "TMPDIR": f"{scratch}/tmp", "PIP_NO_INDEX": "1"}
        argv = (
            sandbox.command(scratch, argv, sandbox.readable_paths(), course) if sandboxed else argv
        )
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    return subprocess.Popen(argv, cwd=course, env=env, start_new_session=True, **output)


def readme(notebooks: list[str], repository: dict[str, str]) -> str:
    """The student release's README: what to do, and where each notebook opens."""
    lines = [README]
    for name in notebooks:
        links = launch_links(f"{display_path(STUDENT_COPIES)}/{name}", repository)
        lines += [name, *(f"  {service}: {url}" for service, url in links.items())]
    return "\n".join(lines) + "\n"


def release(out: Path = OUT) -> Path:
    """Write the teacher's course folder, the student release and its zip under `out`; return
    the student release."""
    teacher, student = out / "teacher", out / "student"
    for folder in (teacher, student):
        shutil.rmtree(folder, ignore_errors=True)
    (teacher / "source" / ASSIGNMENT).mkdir(parents=True)
    (teacher / "nbgrader_config.py").write_text(Limits().config())
    notebooks = _notebooks()
    for name, notebook in notebooks.items():
        nbformat.write(notebook, teacher / "source" / ASSIGNMENT / name)
    process = nbgrader(teacher, "generate_assignment", ASSIGNMENT, "--force")
    log = process.communicate()[0]
    if process.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{log[-3000:]}")
    shutil.copytree(teacher / "release" / ASSIGNMENT, student)
    (student / "README.txt").write_text(readme(sorted(notebooks), config()["repository"]))
    with zipfile.ZipFile(out / "student.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(student.iterdir()):
            archive.write(path, path.name)
    return student


# --- what a graded notebook and nbgrader's log say ----------------------------------------------


def _describe(error: dict, seconds: float) -> str:
    """One line for an error output of a cell whose time limit is `seconds`."""
    if error.get("ename") in TIMEOUT_ERRORS:
        return f"timed out: the cell was stopped after {seconds:g} s"
    if error.get("ename") == "NotImplementedError" and not error.get("evalue"):
        return "not answered yet: the answer still raises NotImplementedError"
    first_line = (error.get("evalue") or "").strip().splitlines()[:1]
    return ": ".join([error.get("ename", "error"), *first_line])


def check_results(notebook: nbformat.NotebookNode, limits: Limits) -> dict[str, tuple[float, str]]:
    """Each check cell's score, by nbgrader's rule, and why it did not pass: a failed cell above it
    first, as the likely cause. A check cell that never ran (nbgrader: passed) is not graded."""
    from nbgrader.utils import determine_grade

    results, above = {}, None
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        timeouts = [e for e in errors if e.get("ename") in TIMEOUT_ERRORS]  # before its interrupt
        error = (timeouts or errors or [None])[0]
        if not grading(cell).get("grade"):
            if error is not None and above is None:
                above = _describe(error, limits.of(cell))
            continue
        score, message = determine_grade(cell)[0] or 0.0, ""
        if cell.get("cell_type") == "code" and cell.get("execution_count") is None:
            score, message = 0.0, "not graded: its check cell was not run"
        elif error is not None:
            message = _describe(error, limits.of(cell))
            if above and above.startswith("not answered"):
                message = above
            elif above and above != message:
                message = f"a cell above failed ({above}); then {message}"
        elif score < grading(cell)["points"]:  # nbgrader fails a check that writes to stderr
            message = "the check cell wrote to stderr, which nbgrader counts as failing"
        results[grading(cell)["grade_id"]] = (float(score), message)
        above = None
    return results


def failure_reason(log: str, limits: Limits) -> str:
    """Why nbgrader could not grade: the kernel's fate, else the last exception it logged."""
    for pattern, reason in LOG_REASONS.items():
        if re.search(pattern, log):
            return reason.format(startup=limits.startup)
    found = [m[0] for m in EXCEPTION_LINE.finditer(log) if not m[1].endswith("NbGraderException")]
    last = found or [line for line in log.splitlines() if line.strip()] or ["no output"]
    return f"nbgrader failed ({last[-1].strip()[:200]})"


# --- grading ------------------------------------------------------------------------------------


def hand_in(student_dir: Path, name: str) -> Path | str:
    """The student's copy of notebook `name`, that file or the one file ending in it (Colab saves
    "Copy of <name>"); else why there is none to grade."""
    exact = student_dir / name
    found = [exact] if exact.is_file() else [p for p in student_dir.glob(f"*{name}") if p.is_file()]
    if len(found) != 1:
        return f"{name} was not handed in"
    try:
        nbformat.validate(nbformat.read(found[0], as_version=4))
    except Exception as err:  # nbformat raises JSON, validation and Unicode errors alike
        return f"{found[0].name} is not a Jupyter notebook ({type(err).__name__})"
    return found[0]


def finish(process: subprocess.Popen, limits: Limits) -> tuple[str, str]:
    """The log of an nbgrader run and what went wrong ("" if nothing); past one student's time
    limit, it is killed with all it started (its kernel runs in a session of its own)."""
    import psutil

    try:
        log = process.communicate(timeout=limits.student)[0]
    except subprocess.TimeoutExpired:
        for child in [*psutil.Process(process.pid).children(recursive=True), process]:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        log = process.communicate()[0] or ""
        return log, f"stopped after {limits.student:g} s, the time limit for one student"
    return log, failure_reason(log, limits) if process.returncode else ""


def grade_student(
    student_dir: Path,
    bundle: Path,
    selected: list[Task],
    graded: Path,
    limits: Limits = Limits(),
    sandboxed: bool = True,
) -> list[Row]:
    """Grade one student in a scratch course of their own (a crash or deleted files stay there): a
    row per task, else why not; the graded notebooks and nbgrader's log go to `graded/<student>`."""
    student, feedback = student_dir.name, graded / student_dir.name
    bad_id = f"folder name {student!r} is not a usable student id (letters, digits, _.@+-)"
    ok = STUDENT_ID.match(student)
    found = {t.notebook: hand_in(student_dir, t.notebook) if ok else bad_id for t in selected}
    paths = {name: path for name, path in found.items() if isinstance(path, Path)}
    with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as scratch:
        course = Path(scratch) / "course"
        shutil.copytree(bundle / "source", course / "source")
        shutil.copy2(bundle / "gradebook.db", course)
        (course / "nbgrader_config.py").write_text(limits.config())
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        for name, path in paths.items():
            shutil.copy(path, course / "submitted" / student / ASSIGNMENT / name)
        if paths:
            shutil.rmtree(feedback, ignore_errors=True)
            feedback.mkdir(parents=True)
            args = ("autograde", ASSIGNMENT, f"--student={student}", "--force")
            process = nbgrader(course, *args, scratch=Path(scratch), sandboxed=sandboxed)
            log, why = finish(process, limits)
            (feedback / "nbgrader.log").write_text(log)
        for name in paths:
            autograded = course / "autograded" / student / ASSIGNMENT / name
            found[name] = f"not graded: {why or 'nbgrader wrote no graded copy of it'}"
            if not why and autograded.is_file():
                try:
                    found[name] = check_results(nbformat.read(autograded, 4), limits)
                except Exception as err:  # the submission may have wrecked its scratch course
                    found[name] = f"not graded: its results could not be read ({err!r:.80})"
                shutil.copy(autograded, feedback / name)
    rows = []
    for task in selected:
        got = found[task.notebook]
        missing = (0.0, "not graded: its check cell is missing from the graded notebook")
        score, message = got.get(task.task, missing) if isinstance(got, dict) else (0.0, got)
        rows.append(Row(student, task.notebook, task.task, score, task.points, message))
    return rows


def warm_imports(bundle: Path, seconds: float) -> None:
    """Run the given cells' imports once outside the read-only sandbox, so that torch's and d2l's
    bytecode is compiled once, not in every student's kernel; failing costs time only."""
    imports = [
        line
        for notebook in _notebooks(bundle).values()
        for cell in notebook.cells
        if cell.cell_type == "code" and is_given(cell)
        for line in IMPORT_LINE.findall(cell.source)
    ]
    program = f"for line in {list(dict.fromkeys(imports))!r}:\n    try:\n        exec(line)\n"
    program += "    except Exception:\n        pass\n"
    with contextlib.suppress(subprocess.TimeoutExpired):
        run = [sys.executable, "-c", program]
        env = {**os.environ, "MPLBACKEND": "Agg"}
        subprocess.run(run, cwd=bundle, env=env, capture_output=True, timeout=seconds)


def grade(
    submissions: Path,
    bundle: Path = OUT / "teacher",
    output: Path = OUT / "grades.csv",
    only: list[str] | None = None,
    limits: Limits = Limits(),
    jobs: int = 2,
    sandboxed: bool = True,
) -> list[Row]:
    """Grade every student folder in `submissions`, `jobs` at a time; write and return the score
    sheet. `sandboxed=False` trusts every submission with the teacher's files."""
    if not (folders := [p for p in sorted(submissions.glob("*/")) if p.name[0] != "."]):
        what = "holds no student folder" if submissions.is_dir() else "is not a folder"
        raise AssignmentError(
            f"submissions={str(submissions)!r} {what}: give the folder that holds one folder per "
            "student (named by the student's id), with their notebooks"
        )
    parts = ("nbgrader_config.py", "gradebook.db", f"source/{ASSIGNMENT}")
    if missing := [part for part in parts if not (bundle / part).exists()]:
        raise AssignmentError(
            f"bundle={str(bundle)!r} is not a teacher's course folder (it lacks "
            f"{', '.join(missing)}): run `python -m tools.assignment release`"
        )
    selected = tasks(bundle)
    if unknown := sorted(set(only or []) - {task.task for task in selected}):
        raise AssignmentError(
            f"task={', '.join(unknown)} is not a task of this assignment; the tasks are: "
            + ", ".join(task.task for task in selected)
        )
    selected = [task for task in selected if not only or task.task in only]
    if any(isinstance(hand_in(f, t.notebook), Path) for f in folders for t in selected):
        if sandboxed:
            try:
                sandbox.check_available()
            except sandbox.SandboxUnavailable as err:
                raise AssignmentError(
                    f"sandboxed=True: {err}; or grade without the sandbox (--no-sandbox), "
                    "trusting every submission with your files"
                ) from None
        warm_imports(bundle, limits.student)

    def grade_one(folder: Path) -> list[Row]:
        try:
            return grade_student(
                folder, bundle, selected, output.parent / "graded", limits, sandboxed
            )
        except Exception as err:  # one student's failure must not stop the class
            why = f"not graded: {type(err).__name__}: {err}"[:300]
            return [Row(folder.name, t.notebook, t.task, 0.0, t.points, why) for t in selected]

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = [row for student_rows in pool.map(grade_one, folders) for row in student_rows]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(Row._fields)
        writer.writerows([*r[:3], f"{r.score:g}", f"{r.max_score:g}", r.message] for r in rows)
    return rows


def _seconds(text: str) -> float:
    if not float(text) > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        "python -m tools.assignment", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="write the student release and the teacher's course")
    commands.add_parser("tasks", help="list the graded tasks and their points")
    grading = commands.add_parser("grade", help="grade a folder of student folders")
    grading.add_argument("submissions", type=Path, help="one folder per student, with notebooks")
    grading.add_argument("--task", action="append", help="grade only this task (repeatable)")
    for limit in ("cell", "given_cell", "student"):
        flag = f"--{limit.replace('_', '-')}-timeout"
        grading.add_argument(flag, type=_seconds, default=getattr(Limits, limit), help="seconds")
    grading.add_argument("--no-sandbox", action="store_true", help="trust every submission")
    args = parser.parse_args(argv)
    if args.command == "release":
        print(f"student release: {display_path(release())}")
        print(f"teacher's course folder: {display_path(OUT / 'teacher')}")
    elif args.command == "tasks":
        print(*(f"{t.notebook:24s} {t.task:20s} {t.points:g} points" for t in tasks()), sep="\n")
    else:
        limits = Limits(args.cell_timeout, args.given_cell_timeout, student=args.student_timeout)
        try:
            rows = grade(
                args.submissions, only=args.task, limits=limits, sandboxed=not args.no_sandbox
            )
        except AssignmentError as err:
            parser.error(str(err))
        for student in dict.fromkeys(row.student for row in rows):
            mine = [row for row in rows if row.student == student]
            print(f"{student}: {sum(r.score for r in mine):g} / {sum(r.max_score for r in mine):g}")
        print(f"scores: {display_path(OUT / 'grades.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
