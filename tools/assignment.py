"""The graded assignment: student notebooks without the answers, and grading on this computer.

The sources, `assignments/*.md`, are MyST notebooks whose cells carry nbgrader metadata: answer
cells with `### BEGIN SOLUTION` regions, check cells worth points with `### BEGIN HIDDEN TESTS`
regions that only the grader runs.

* `regenerate()` (in `make notebooks`) writes the committed `assignments/<name>.ipynb`, executed
  with the answers, and `assignments/student/<name>.ipynb`, which the Colab and Studio Lab links
  open, made by nbgrader's own release preprocessors.
* `release` writes `_build/assignment/`: `teacher/`, an nbgrader course folder with its gradebook,
  and `student/`, the notebooks to hand out and a README of their links.
* `grade` autogrades one folder per student, each in a sandboxed scratch course with time limits,
  into a CSV row per student and task: the score, the points and the failing check's message, or
  why the task could not be graded. Students need no grader: the checks are plain `assert`s."""

from __future__ import annotations

import argparse
import ast
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path

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
NOT_ANSWERED = "NotImplementedError"
# A cell stopped for running too long shows nbgrader's timeout error and the interrupt it sent.
TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")
# nbgrader's log when it could not run a notebook to its end, and what the score sheet says then.
LOG_REASONS = [
    (r"Kernel didn't respond in", "the kernel did not start within {startup:g} s"),
    (r"Kernel died before replying to kernel_info", "the kernel exited as it started"),
    (r"DeadKernelError|Kernel died", "the kernel died while running the notebook"),
    (r"became unresponsive", "the kernel stopped responding to interrupts"),
    (
        r"Timeout waiting for IOPub output",
        "the kernel's output did not arrive in time (the computer was too busy)",
    ),
]
EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit)):? ?(.*)$", re.M)
COURSE_CONFIG = """\
c = get_config()  # noqa: F821 (nbgrader's course settings, written by tools.assignment)
c.CourseDirectory.course_id = "{assignment}"
given = lambda g: g.get("locked") and not g.get("grade") and not g.get("solution")  # noqa: E731
c.Execute.timeout_func = lambda cell: (
    {given:g} if given(cell.metadata.get("nbgrader", {{}})) else {cell:g})
c.Execute.startup_timeout = {startup:g}
c.Execute.iopub_timeout = 60  # a busy machine holds outputs back; the replies record the errors
c.Execute.raise_on_iopub_timeout = False
"""


@dataclass(frozen=True)
class Limits:
    """The time limits of one grading run, in seconds. Given cells (setup and imports, which
    nbgrader puts back if edited) get more: their first imports compile torch's bytecode, which
    takes minutes on a busy two-core machine."""

    cell: float = 60
    given_cell: float = 600
    startup: float = 300  # a kernel's start on a busy machine
    student: float = 1800  # all the notebooks of one student together

    def config(self) -> str:
        """The nbgrader configuration that applies these limits."""
        return COURSE_CONFIG.format(
            assignment=ASSIGNMENT,
            startup=self.startup,
            cell=max(1, round(self.cell)),
            given=max(1, round(self.given_cell)),
        )

    def of(self, cell: nbformat.NotebookNode) -> float:
        """The limit of `cell`, as the configuration's `cell_timeout` gives it."""
        return self.given_cell if is_given(cell) else self.cell


def is_given(cell: nbformat.NotebookNode) -> bool:
    """Whether `cell` is given code (locked, neither an answer nor a check)."""
    grading = cell.get("metadata", {}).get("nbgrader", {})
    return bool(grading.get("locked") and not grading.get("grade") and not grading.get("solution"))


class AssignmentError(ValueError):
    """Bad input to a command: the message names the parameter, its value and what is accepted."""


@dataclass(frozen=True)
class Task:
    notebook: str  # file name of the released notebook
    task: str  # the check cell's grade_id
    points: float


@dataclass(frozen=True)
class Row:
    """One line of the score sheet."""

    student: str
    notebook: str
    task: str
    score: float
    max_score: float
    message: str


# --- the notebooks ------------------------------------------------------------------------------


def sources(folder: Path = SOURCES) -> list[Path]:
    """The assignment sources: every MyST notebook directly in `folder`, by name."""
    return sorted(path for path in folder.glob("*.md") if is_notebook(path))


def source_notebook(md: Path) -> nbformat.NotebookNode:
    """The cells of `md`, answers and hidden tests included, as nbgrader's source notebook: the
    setup cell written, ids from positions (the same bytes every time), no jupytext pairing."""
    notebook = split(jupytext.read(md), DEFAULT, display_path(md))
    notebook.metadata.pop("jupytext", None)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    return notebook


def student_notebook(md: Path) -> nbformat.NotebookNode:
    """What `nbgrader generate_assignment` releases of `md`, by its own preprocessors: answers
    replaced by `raise NotImplementedError()`, hidden tests removed, outputs cleared, given and
    check cells locked (nbgrader's checksums). Only the gradebook is left out."""
    from nbgrader import preprocessors as nbg

    notebook, resources = source_notebook(md), {}
    for step in (
        nbg.LockCells,
        nbg.ClearSolutions,
        nbg.ClearOutput,
        nbg.CheckCellMetadata,
        nbg.ComputeChecksums,
        nbg.ClearHiddenTests,
        nbg.ClearMarkScheme,
        nbg.ComputeChecksums,
        nbg.CheckCellMetadata,
    ):
        notebook, resources = step().preprocess(notebook, resources)
    return notebook


def regenerate(execute: bool = True, everything: bool = False) -> list[str]:
    """Write the committed notebooks of every source, each only if its bytes change: the
    `.ipynb` executed with the answers (only when its inputs changed; with `execute=False` a
    stale one raises `StaleNotebook`; `everything` executes them all) and the student copy. A
    report line per file written."""
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
        Task(name, cell.metadata.nbgrader.grade_id, cell.metadata.nbgrader.points)
        for name, notebook in _notebooks(bundle).items()
        for cell in notebook.cells
        if cell.metadata.get("nbgrader", {}).get("grade")
    ]


# --- release ------------------------------------------------------------------------------------


def nbgrader(
    course: Path,
    *args: str,
    environment: dict | None = None,
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> subprocess.Popen:
    """Start `nbgrader ARGS` in the course folder, in a process group of its own, with
    `environment` added and the command line passed through `wrap` (a sandbox's) if given.
    nbgrader runs `alembic` from the PATH, so this environment's scripts come first there."""
    path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    argv = [sys.executable, "-m", "nbgrader", *args]
    return subprocess.Popen(
        wrap(argv) if wrap else argv,
        cwd=course,
        text=True,
        env={**os.environ, "PATH": path, **(environment or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def readme(notebooks: list[str], repository: dict[str, str]) -> str:
    """The student release's README: what to do, and where each notebook opens."""
    lines = [
        "Assignment: Synthetic Regression Data",
        "",
        "Open each notebook in Colab, SageMaker Studio Lab or your own Jupyter, run it from the",
        "top, and replace each `raise NotImplementedError()` by your answer. The check cell under",
        "each answer tests it; the grader runs more checks. Hand in the notebooks, saved with",
        "their file names unchanged.",
        "",
    ]
    for name in notebooks:
        links = launch_links(f"{display_path(STUDENT_COPIES)}/{name}", repository)
        lines += [name, *(f"  {service}: {url}" for service, url in links.items())]
    return "\n".join(lines) + "\n"


def release(out: Path = OUT) -> Path:
    """Write the teacher's course folder and the student release (with a zip) under `out`;
    the student release."""
    teacher, student = out / "teacher", out / "student"
    for folder in (teacher, student):
        shutil.rmtree(folder, ignore_errors=True)
    (teacher / "source" / ASSIGNMENT).mkdir(parents=True)
    (teacher / "nbgrader_config.py").write_text(Limits().config())
    for name, notebook in _notebooks().items():
        nbformat.write(notebook, teacher / "source" / ASSIGNMENT / name)
    process = nbgrader(teacher, "generate_assignment", ASSIGNMENT, "--force")
    log = process.communicate()[0]
    if process.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{log[-3000:]}")
    shutil.copytree(teacher / "release" / ASSIGNMENT, student)
    repository = config()["repository"]
    (student / "README.txt").write_text(readme(sorted(_notebooks()), repository))
    with zipfile.ZipFile(out / "student.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(student.iterdir()):
            archive.write(path, path.name)
    return student


# --- what a graded notebook says ----------------------------------------------------------------


def _describe(error: dict, seconds: float) -> str:
    """One line for an error output of a cell whose time limit is `seconds`."""
    if error.get("ename") in TIMEOUT_ERRORS:
        return f"timed out: the cell was stopped after {seconds:g} s"
    if error.get("ename") == NOT_ANSWERED and not error.get("evalue"):
        return f"not answered yet: the answer still raises {NOT_ANSWERED}"
    first_line = (error.get("evalue") or "").strip().splitlines()[:1]
    return ": ".join([error.get("ename", "error"), *first_line])


def check_messages(notebook: nbformat.NotebookNode, limits: Limits) -> dict[str, str]:
    """For each check cell that failed or never ran, the reason. A failed cell above it (an
    answer or a given cell) is the likely cause, so it leads. A check cell that never ran would
    pass in nbgrader's eyes: it is reported as not graded."""
    messages, above = {}, None
    for cell in notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        timeouts = [e for e in errors if e.get("ename") in TIMEOUT_ERRORS]  # before its interrupt
        error = (timeouts or errors or [None])[0]
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if not grading.get("grade"):
            if error is not None and above is None:
                above = _describe(error, limits.of(cell))
            continue
        task = grading["grade_id"]
        if cell.get("cell_type") == "code" and cell.get("execution_count") is None:
            messages[task] = "not graded: its check cell was not run"
        elif error is not None and above and above.startswith("not answered"):
            messages[task] = above
        elif error is not None:
            own = _describe(error, limits.of(cell))
            both = above and above != own
            messages[task] = f"a cell above failed ({above}); then {own}" if both else own
        above = None
    return messages


def failure_reason(log: str, limits: Limits) -> str:
    """Why nbgrader could not grade, from its log: the kernel's fate where the log names it,
    else the last exception it logged (not its own summary, "see the log")."""
    for pattern, reason in LOG_REASONS:
        if re.search(pattern, log):
            return reason.format(startup=limits.startup)
    found = [m[0] for m in EXCEPTION_LINE.finditer(log) if not m[1].endswith("NbGraderException")]
    last = found or [line for line in log.splitlines() if line.strip()] or ["no output"]
    return f"nbgrader failed ({last[-1].strip()[:200]})"


# --- grading ------------------------------------------------------------------------------------


def find_submission(student_dir: Path, name: str) -> Path | None:
    """The student's copy of notebook `name`: that file, or the one file ending in it (Colab
    saves "Copy of exercises.ipynb"); None when there is none."""
    if (student_dir / name).is_file():
        return student_dir / name
    candidates = [p for p in student_dir.glob(f"*{name}") if p.is_file()]
    return candidates[0] if len(candidates) == 1 else None


def _why_not_gradable(path: Path | None, name: str) -> str | None:
    """Why the hand-in `path` of notebook `name` cannot be graded; None when it can."""
    if path is None:
        return f"{name} was not handed in"
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as err:  # nbformat raises JSON, validation and Unicode errors alike
        return f"{path.name} is not a Jupyter notebook ({type(err).__name__})"
    return None


def stop(process: subprocess.Popen) -> None:
    """Kill `process` and everything it started (the kernel runs in a session of its own, so
    killing nbgrader's process group alone would leave it running)."""
    import psutil

    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, process]:
        try:
            member.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    process.wait()


def _autograde(
    course: Path, scratch: Path, student: str, limits: Limits, sandboxed: bool = True
) -> tuple[str, str]:
    """Run `nbgrader autograde` for one student: what went wrong (empty if nothing), and the
    log. HOME and TMPDIR point into the scratch folder, and pip reaches no index: a submission
    must not install anything."""
    for folder in ("home", "tmp"):
        (scratch / folder).mkdir()
    environment = {
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "PIP_NO_INDEX": "1",
        "MPLBACKEND": "Agg",
    }
    readable = sandbox.readable_paths()
    wrap = (lambda argv: sandbox.command(scratch, argv, readable, course)) if sandboxed else None
    process = nbgrader(
        course,
        "autograde",
        ASSIGNMENT,
        f"--student={student}",
        "--force",
        environment=environment,
        wrap=wrap,
    )
    try:
        log = process.communicate(timeout=limits.student)[0]
    except subprocess.TimeoutExpired:
        stop(process)
        log = process.communicate()[0] or ""
        return f"stopped after {limits.student:g} s, the time limit for one student", log
    return (failure_reason(log, limits) if process.returncode else ""), log


def _results(course: Path, student: str, names: list[str], feedback: Path, limits: Limits):
    """The scores nbgrader recorded by (notebook, task), the failed checks' messages, and why
    each notebook without an autograded copy was not graded; the autograded copies kept in
    `feedback`."""
    from nbgrader.api import Gradebook, MissingEntry

    scores, messages, ungraded = {}, {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT) as gradebook:
        for name in names:
            try:
                graded = gradebook.find_submission_notebook(Path(name).stem, ASSIGNMENT, student)
            except MissingEntry:
                continue
            scores |= {
                (name, g.name): float(g.score) for g in graded.grades if g.auto_score is not None
            }
    for name in names:
        path = course / "autograded" / student / ASSIGNMENT / name
        if not path.is_file():
            ungraded[name] = "nbgrader wrote no graded copy of it"
            continue
        shutil.copy(path, feedback / name)
        for task, message in check_messages(nbformat.read(path, 4), limits).items():
            messages[(name, task)] = message
    return scores, messages, ungraded


def grade_student(
    student_dir: Path,
    bundle: Path,
    selected: list[Task],
    graded: Path,
    limits: Limits = Limits(),
    sandboxed: bool = True,
) -> list[Row]:
    """Grade one student's notebooks in a scratch course of their own, in the sandbox, within
    the time limits: a crash, a hang or deleted files stay with this student. A row per task,
    with a score only for a notebook nbgrader ran to its end, else why not. The autograded
    notebooks and nbgrader's log go to `graded/<student>/` for feedback."""
    student = student_dir.name
    names = list(dict.fromkeys(task.notebook for task in selected))
    problems, scores, messages = {}, {}, {}
    if not STUDENT_ID.match(student):
        problems = dict.fromkeys(
            names, f"folder name {student!r} is not a usable student id (letters, digits, _.@+-)"
        )
    with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as name:
        scratch = Path(name)
        course = scratch / "course"
        shutil.copytree(bundle / "source", course / "source")
        shutil.copy2(bundle / "gradebook.db", course)
        (course / "nbgrader_config.py").write_text(limits.config())
        submitted = course / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for notebook in names if not problems else []:
            path = find_submission(student_dir, notebook)
            if reason := _why_not_gradable(path, notebook):
                problems[notebook] = reason
            else:
                shutil.copy(path, submitted / notebook)
        handed_in = [name for name in names if name not in problems]
        if handed_in:
            feedback = graded / student
            shutil.rmtree(feedback, ignore_errors=True)
            feedback.mkdir(parents=True)
            outcome, log = _autograde(course, scratch, student, limits, sandboxed)
            (feedback / "nbgrader.log").write_text(log)
            ungraded = dict.fromkeys(handed_in, outcome)
            if not outcome:
                try:
                    results = _results(course, student, handed_in, feedback, limits)
                    scores, messages, ungraded = results
                except Exception as err:  # the submission may have wrecked its scratch course
                    why = f"its results could not be read ({type(err).__name__})"
                    ungraded = dict.fromkeys(handed_in, why)
            problems |= {name: f"not graded: {why}" for name, why in ungraded.items() if why}
    rows = []
    for task in selected:
        key = (task.notebook, task.task)
        message = problems.get(task.notebook) or messages.get(key, "")
        if not message and key not in scores:
            message = "not graded: nbgrader recorded no score"
        score = scores.get(key, 0.0) if not message.startswith("not graded") else 0.0
        rows.append(Row(student, task.notebook, task.task, score, task.points, message))
    return rows


def warm_imports(bundle: Path, seconds: float) -> None:
    """Import what the given cells import, once, outside the sandbox, so that torch's and d2l's
    bytecode is compiled before any submission runs: the sandbox's environment is read-only, so
    each kernel would compile it again, minutes a student on a fresh clone. Failing costs time
    only, so it is no error."""
    lines = []
    for notebook in _notebooks(bundle).values():
        for cell in (c for c in notebook.cells if c.cell_type == "code" and is_given(c)):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython syntax: a magic or a shell escape
                continue
            lines += [
                f"try:\n    {ast.unparse(node)}\nexcept Exception:\n    pass"
                for node in tree.body
                if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)
            ]
    try:
        subprocess.run(
            [sys.executable, "-c", "\n".join(dict.fromkeys(lines))],
            cwd=bundle,
            env={**os.environ, "MPLBACKEND": "Agg"},
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pass


def grade(
    submissions: Path,
    bundle: Path = OUT / "teacher",
    output: Path = OUT / "grades.csv",
    only: list[str] | None = None,
    limits: Limits = Limits(),
    jobs: int = 2,
    sandboxed: bool = True,
) -> list[Row]:
    """Grade every student folder in `submissions`, `jobs` at a time, each on their own; write
    and return the score sheet, in student, notebook and task order. `sandboxed=False` trusts
    every submission with the teacher's files."""
    if not submissions.is_dir():
        raise AssignmentError(
            f"submissions={str(submissions)!r} is not a folder: give the "
            "folder that holds one folder per student, with their notebooks"
        )
    folders = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise AssignmentError(
            f"submissions={str(submissions)!r} holds no student folder: it "
            "should hold one folder per student (named by the student's id)"
        )
    missing = [
        n
        for n in ("nbgrader_config.py", "gradebook.db", f"source/{ASSIGNMENT}")
        if not (bundle / n).exists()
    ]
    if missing:
        raise AssignmentError(
            f"bundle={str(bundle)!r} is not a teacher's course folder (it "
            f"lacks {', '.join(missing)}): run `python -m tools.assignment "
            "release`"
        )
    selected = tasks(bundle)
    unknown = [name for name in only or [] if name not in {task.task for task in selected}]
    if unknown:
        raise AssignmentError(
            f"task={', '.join(unknown)} is not a task of this assignment; the "
            f"tasks are: {', '.join(task.task for task in selected)}"
        )
    selected = [task for task in selected if not only or task.task in only]
    if not isinstance(jobs, int) or jobs < 1:
        raise AssignmentError(f"jobs={jobs!r} must be an integer >= 1")
    if any(find_submission(folder, task.notebook) for folder in folders for task in selected):
        if sandboxed:
            try:
                sandbox.check_available()
            except sandbox.SandboxUnavailable as err:
                raise AssignmentError(
                    f"sandboxed=True: {err}; or grade without the sandbox "
                    "(--no-sandbox), trusting every submission with your "
                    "files"
                ) from None
        warm_imports(bundle, limits.student)

    graded = output.parent / "graded"

    def grade_one(folder: Path) -> list[Row]:
        try:
            return grade_student(folder, bundle, selected, graded, limits, sandboxed)
        except Exception as err:  # one student's failure must not stop the class
            reason = f"not graded: {type(err).__name__}: {err}"[:300]
            return [Row(folder.name, t.notebook, t.task, 0.0, t.points, reason) for t in selected]

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = [row for student_rows in pool.map(grade_one, folders) for row in student_rows]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow([field.name for field in fields(Row)])
        writer.writerows(
            [*astuple(r)[:3], f"{r.score:g}", f"{r.max_score:g}", r.message] for r in rows
        )  # scores without a needless ".0"
    return rows


# --- command line -------------------------------------------------------------------------------


def _seconds(text: str) -> float:
    if not float(text) > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.assignment",
        description="Release the assignment or grade submissions.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("release", help="write the student release and the teacher's course")
    out.add_argument("--out", type=Path, default=OUT, help="default: _build/assignment")
    commands.add_parser("tasks", help="list the graded tasks and their points")
    grading = commands.add_parser("grade", help="grade a folder of student folders")
    grading.add_argument("submissions", type=Path, help="one folder per student, with notebooks")
    grading.add_argument(
        "--bundle",
        type=Path,
        default=OUT / "teacher",
        help="the teacher's course folder written by `release`",
    )
    grading.add_argument("--csv", type=Path, default=OUT / "grades.csv", help="the score sheet")
    grading.add_argument("--task", action="append", help="grade only this task (repeatable)")
    for option, default, what in [
        ("cell", Limits.cell, "an answer or check cell"),
        ("given-cell", Limits.given_cell, "a given (setup) cell"),
        ("student", Limits.student, "one student's notebooks"),
    ]:
        grading.add_argument(
            f"--{option}-timeout", type=_seconds, default=default, help=f"seconds {what} may run"
        )
    grading.add_argument("--jobs", type=int, default=2, help="students graded at once")
    grading.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without bubblewrap, trusting every submission",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            print(f"student release: {display_path(release(args.out))}")
            print(f"teacher's course folder: {display_path(args.out / 'teacher')}")
        elif args.command == "tasks":
            for task in tasks():
                print(f"{task.notebook:24s} {task.task:20s} {task.points:g} points")
        else:
            limits = Limits(
                cell=args.cell_timeout,
                given_cell=args.given_cell_timeout,
                student=args.student_timeout,
            )
            rows = grade(
                args.submissions,
                args.bundle,
                args.csv,
                args.task,
                limits,
                args.jobs,
                sandboxed=not args.no_sandbox,
            )
            for student in dict.fromkeys(row.student for row in rows):
                mine = [(r.score, r.max_score) for r in rows if r.student == student]
                print(f"{student}: {sum(s for s, _ in mine):g} / {sum(p for _, p in mine):g}")
            print(f"scores: {display_path(args.csv.resolve())}")
    except AssignmentError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
