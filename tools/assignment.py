"""Classroom assignments: a student release without answers, and local autograding.

The sources are `assignments/*.md`, MyST notebooks whose cells carry nbgrader metadata:
answer cells with `### BEGIN SOLUTION` regions, and check cells worth points whose
`### BEGIN HIDDEN TESTS` regions only the grader runs. nbgrader does the work:

* `release` writes `_build/assignment/teacher/`, an nbgrader course folder (the sources, the
  gradebook and the released notebooks), and `_build/assignment/student/`, the notebooks to
  hand out (answers replaced by `raise NotImplementedError()`, hidden tests removed, visible
  checks kept) with a README of Colab and Studio Lab links. The links open the copies in
  `assignments/student/`, which `release` keeps identical to the student release.
* `grade SUBMISSIONS` grades one folder per student with `nbgrader autograde`, each student
  in a scratch copy of the course with a time limit per cell and per student, and writes one
  CSV row per student and task: the score, the points and the failing check's message.

Students need none of this: a released notebook is a plain notebook whose check cells are
ordinary `assert`s, so it runs in Colab or Studio Lab without nbgrader and without touching
the ipywidgets or torch already installed there.
"""

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
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import jupytext
import nbformat
import yaml

from tools.book_notebooks import ROOT, display_path, is_notebook
from tools.classroom import launch_links
from tools.frameworks import DEFAULT, split

SOURCES = ROOT / "assignments"
STUDENT_COPIES = SOURCES / "student"
OUT = ROOT / "_build" / "assignment"
ASSIGNMENT = "synthetic-regression-data"
CELL_TIMEOUT = 60  # seconds an answer or check cell of a submission may run
# Seconds a given cell (the setup and import cells, which students cannot change: nbgrader puts
# back their source) may run. Their first imports compile torch's bytecode, which on a busy
# two-core machine takes minutes: a limit that suits answers would stop them.
GIVEN_CELL_TIMEOUT = 600
STARTUP_TIMEOUT = 300  # seconds a kernel may take to start on a busy machine
STUDENT_TIMEOUT = 1800  # seconds all the notebooks of one student may take together
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
NOT_ANSWERED = "NotImplementedError"
# What a cell stopped for running too long shows: nbgrader's record of the timeout, and the
# interrupt it sends (no one presses Ctrl-C during grading).
TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")
# nbgrader's log when it could not run a notebook to its end, and what a score sheet says then.
LOG_REASONS = [
    (re.compile(r"Kernel didn't respond in"), "the kernel did not start within {startup:g} s"),
    (re.compile(r"Kernel died before replying to kernel_info"), "the kernel exited as it started"),
    (re.compile(r"DeadKernelError|Kernel died"), "the kernel died while running the notebook"),
    (re.compile(r"became unresponsive"), "the kernel stopped responding to interrupts"),
    (
        re.compile(r"Timeout waiting for IOPub output"),
        "the kernel's output did not arrive in time (the computer was too busy)",
    ),
]
EXCEPTION_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit)):? ?(.*)$", re.M)
COURSE_CONFIG = """\
# nbgrader settings of this course, written by `python -m tools.assignment`.
c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "{assignment}"


def cell_timeout(cell):
    \"\"\"Seconds a cell may run: more for the given cells than for answers and checks.\"\"\"
    grading = cell.metadata.get("nbgrader", {{}})
    given = grading.get("locked") and not grading.get("grade") and not grading.get("solution")
    return {given_timeout:g} if given else {cell_timeout:g}


c.Execute.timeout_func = cell_timeout
c.Execute.startup_timeout = {startup_timeout:g}
# A busy machine can hold a cell's last output back for seconds; nbgrader would then fail the
# whole notebook. The reply's own status still records every error.
c.Execute.iopub_timeout = 60
c.Execute.raise_on_iopub_timeout = False
"""


@dataclass(frozen=True)
class Limits:
    """The time limits of one grading run, in seconds."""

    cell: float = CELL_TIMEOUT
    given_cell: float = GIVEN_CELL_TIMEOUT
    startup: float = STARTUP_TIMEOUT
    student: float = STUDENT_TIMEOUT

    def config(self) -> str:
        """The nbgrader configuration that applies these limits."""
        return COURSE_CONFIG.format(
            assignment=ASSIGNMENT, cell_timeout=max(1, round(self.cell)),
            given_timeout=max(1, round(self.given_cell)), startup_timeout=round(self.startup),
        )  # fmt: skip

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
    """One graded check of an assignment notebook."""

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


# --- the sources ------------------------------------------------------------------------------


def sources(folder: Path = SOURCES) -> list[Path]:
    """The assignment sources: every MyST notebook directly in `folder`, by name."""
    return sorted(path for path in folder.glob("*.md") if is_notebook(path))


def source_notebook(md: Path) -> nbformat.NotebookNode:
    """The cells of `md`, answers and hidden tests included, as nbgrader's source notebook.

    Cells get ids derived from their position, so that releasing twice writes the same bytes,
    and the jupytext pairing is dropped: a released notebook belongs to no `.md`.
    """
    notebook = split(jupytext.read(md), DEFAULT, display_path(md))  # the setup cell written
    notebook.metadata.pop("jupytext", None)
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:02d}"
    return notebook


def tasks(folder: Path = SOURCES) -> list[Task]:
    """Every graded check of every source, in notebook and cell order."""
    found = []
    for md in sources(folder):
        for cell in jupytext.read(md).cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade"):
                found.append(Task(f"{md.stem}.ipynb", grading["grade_id"], grading["points"]))
    return found


def refresh_sources(folder: Path = SOURCES) -> list[str]:
    """Derive each source's paired `.ipynb` from its `.md`, as `make notebooks` does for the
    book: executed (answers and hidden tests included) only when its inputs changed."""
    from tools.notebooks import paired_ipynb, refresh, write

    report = []
    for md in sources(folder):
        what, notebook = refresh(md)
        written = write(md, notebook)
        report.append(
            f"{what}{'' if written else ', left as it was'}: {display_path(paired_ipynb(md))}"
        )
    return report


# --- release ----------------------------------------------------------------------------------


def nbgrader(
    course: Path,
    *args: str,
    environment: dict[str, str] | None = None,
    wrap: Callable[[list[str]], list[str]] | None = None,
) -> subprocess.Popen:
    """Start `nbgrader ARGS` in the course folder `course`, in a process group of its own,
    with `environment` added to this process's variables and the command line passed
    through `wrap` (a sandbox's) if given.

    nbgrader runs `alembic` from the PATH, so this environment's scripts come first there.
    """
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    env.update(environment or {})
    argv = [sys.executable, "-m", "nbgrader", *args]
    return subprocess.Popen(
        wrap(argv) if wrap else argv,
        cwd=course,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def run_nbgrader(course: Path, *args: str) -> str:
    """Run `nbgrader ARGS` to the end; its log, or an error that quotes the log's end."""
    process = nbgrader(course, *args)
    log, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{log[-3000:]}")
    return log


def write_course(course: Path, folder: Path = SOURCES) -> list[Path]:
    """A fresh nbgrader course folder holding the sources; the source notebooks written."""
    if course.exists():
        shutil.rmtree(course)
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(Limits().config())
    written = []
    for md in sources(folder):
        target = source / f"{md.stem}.ipynb"
        nbformat.write(source_notebook(md), target)
        written.append(target)
    return written


def readme(notebooks: Iterable[str], repository: dict[str, str]) -> str:
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
        lines.append(name)
        path = f"{display_path(STUDENT_COPIES)}/{name}"
        for service, url in launch_links(path, repository).items():
            lines.append(f"  {service}: {url}")
    return "\n".join(lines) + "\n"


def _write_if_changed(target: Path, data: bytes) -> bool:
    """Write `data` to `target` unless it already holds exactly that; whether it wrote."""
    if target.exists() and target.read_bytes() == data:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return True


def release(out: Path = OUT, folder: Path = SOURCES, copies: Path | None = STUDENT_COPIES) -> Path:
    """Write the teacher's course folder and the student release under `out`; the latter.

    `copies` (the committed `assignments/student/`, which the launch links open) is kept
    identical to the student release; None leaves it alone.
    """
    teacher, student = out / "teacher", out / "student"
    names = [path.name for path in write_course(teacher, folder)]
    if not names:
        raise AssignmentError(f"folder={display_path(folder)!r} holds no MyST notebook (*.md)")
    run_nbgrader(teacher, "generate_assignment", ASSIGNMENT, "--force")
    if student.exists():
        shutil.rmtree(student)
    student.mkdir(parents=True)
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    (student / "README.txt").write_text(readme(names, repository))
    for name in names:
        data = (teacher / "release" / ASSIGNMENT / name).read_bytes()
        (student / name).write_bytes(data)
        if copies is not None:
            _write_if_changed(copies / name, data)
    if copies is not None:
        for stale in set(copies.glob("*.ipynb")) - {copies / name for name in names}:
            stale.unlink()  # its source is gone
    with zipfile.ZipFile(out / "student.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(student.iterdir()):
            archive.write(path, path.name)
    return student


# --- grading ----------------------------------------------------------------------------------


def _first_error(cell: nbformat.NotebookNode) -> dict | None:
    """The error a cell stopped with; a timeout first, since the interrupt that ends a cell
    which ran too long leaves a KeyboardInterrupt beside it."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    timeouts = [e for e in errors if e.get("ename") in TIMEOUT_ERRORS]
    return (timeouts or errors or [None])[0]


def _is_unanswered(error: dict | None) -> bool:
    """Whether an error output is the release's `raise NotImplementedError()`."""
    return error is not None and error.get("ename") == NOT_ANSWERED and not error.get("evalue")


def _describe(error: dict, seconds: float) -> str:
    """One line for an error output of a cell whose time limit is `seconds`."""
    if error.get("ename") in TIMEOUT_ERRORS:
        return f"timed out: the cell was stopped after {seconds:g} s"
    if _is_unanswered(error):
        return f"not answered yet: the answer still raises {NOT_ANSWERED}"
    first_line = (error.get("evalue") or "").strip().splitlines()[:1]
    return ": ".join([error.get("ename", "error"), *first_line])


def check_messages(notebook: nbformat.NotebookNode, limits: Limits) -> dict[str, str]:
    """For each check cell that failed or never ran, the reason.

    A cell above it that failed (an answer that timed out or still raises
    NotImplementedError, or a given cell) is the likely cause, so it leads the message. A check
    cell without an execution count was not run, and nbgrader would score it as passed.
    """
    messages, answer_error = {}, None
    for cell in notebook.cells:
        grading = cell.get("metadata", {}).get("nbgrader", {})
        error = _first_error(cell)
        if not grading.get("grade"):
            if error is not None and answer_error is None:
                answer_error = _describe(error, limits.of(cell))
            continue
        task = grading["grade_id"]
        if cell.get("cell_type") == "code" and cell.get("execution_count") is None:
            messages[task] = "not graded: its check cell was not run"
        elif error is not None and answer_error and answer_error.startswith("not answered"):
            messages[task] = answer_error
        elif error is not None:
            own = _describe(error, limits.of(cell))
            reasons = list(dict.fromkeys(filter(None, [answer_error, own])))
            if len(reasons) == 2:
                reasons[0] = f"a cell above failed ({reasons[0]})"
            messages[task] = "; then ".join(reasons)
        answer_error = None
    return messages


def find_submission(student_dir: Path, name: str) -> Path | None:
    """The student's copy of notebook `name`: that file, or the one file ending in it
    (Colab saves "Copy of exercises.ipynb"); None when there is none."""
    exact = student_dir / name
    if exact.is_file():
        return exact
    candidates = sorted(p for p in student_dir.glob(f"*{name}") if p.is_file())
    return candidates[0] if len(candidates) == 1 else None


def _not_a_notebook(path: Path) -> str | None:
    """Why `path` cannot be graded as a notebook; None when it can."""
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
        family = [*psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for member in [*family, process]:
        try:
            member.kill()
        except (psutil.NoSuchProcess, ProcessLookupError):
            pass
    process.wait()


def _scratch_course(bundle: Path, scratch: Path, limits: Limits) -> Path:
    """A private copy of the teacher's course for one student, under `scratch`."""
    course = scratch / "course"
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(limits.config())
    shutil.copy2(bundle / "gradebook.db", course)
    shutil.copytree(bundle / "source", course / "source")
    return course


def _scores(course: Path, student: str, names: list[str]) -> dict[tuple[str, str], float]:
    """The autograded score of each (notebook, task) that nbgrader recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", ASSIGNMENT) as gradebook:
        for name in names:
            try:
                notebook = gradebook.find_submission_notebook(Path(name).stem, ASSIGNMENT, student)
            except MissingEntry:
                continue
            for grade in notebook.grades:
                if grade.auto_score is not None:
                    scores[(name, grade.name)] = float(grade.score)
    return scores


def failure_reason(log: str, limits: Limits) -> str:
    """Why nbgrader could not grade, from its log: the kernel's fate where the log names it,
    else the last exception it logged."""
    for pattern, reason in LOG_REASONS:
        if pattern.search(log):
            return reason.format(startup=limits.startup)
    exceptions = [
        m for m in EXCEPTION_LINE.finditer(log) if not m[1].endswith("NbGraderException")
    ]  # its own summary: "see the log"
    if exceptions:
        return f"nbgrader failed ({exceptions[-1][0].strip()[:200]})"
    last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
    return f"nbgrader failed ({last[0].strip()[:200]})"


def grade_student(
    student_dir: Path,
    bundle: Path,
    selected: list[Task],
    graded: Path,
    limits: Limits = Limits(),
    sandboxed: bool = True,
) -> list[Row]:
    """Grade one student's notebooks in a scratch folder of their own; a row per task.

    Whatever the submission does, a crash, a hang or deleting files stays with this student:
    nbgrader and the kernel run in a sandbox that can write to the scratch folder only (see
    `tools.sandbox`), each cell is stopped at its time limit, and the whole run, kernel
    included, at the student's. A score is reported only for a notebook that nbgrader ran to
    its end; any other row says why it was not graded. The autograded notebooks and nbgrader's
    log are copied to `graded/<student>/` for feedback.
    """
    student = student_dir.name
    names = list(dict.fromkeys(task.notebook for task in selected))
    if not STUDENT_ID.match(student):
        reason = f"folder name {student!r} is not a usable student id (letters, digits, _.@+-)"
        return [Row(student, t.notebook, t.task, 0.0, t.points, reason) for t in selected]
    problems: dict[str, str] = {}
    scores, messages = {}, {}
    with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as name:
        scratch = Path(name)
        course = _scratch_course(bundle, scratch, limits)
        submitted = course / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for notebook in names:
            path = find_submission(student_dir, notebook)
            reason = f"{notebook} was not handed in" if path is None else _not_a_notebook(path)
            if reason:
                problems[notebook] = reason
            else:
                shutil.copy(path, submitted / notebook)
        handed_in = [name for name in names if name not in problems]
        if handed_in:
            target = graded / student
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            outcome, log = _autograde(course, scratch, student, limits, sandboxed)
            (target / "nbgrader.log").write_text(log)
            ungraded = dict.fromkeys(handed_in, outcome)
            if not outcome:
                try:
                    scores = _scores(course, student, handed_in)
                    messages, ungraded = _collect_feedback(
                        course / "autograded" / student / ASSIGNMENT, handed_in, target, limits
                    )
                except Exception as err:  # the submission may have wrecked its scratch course
                    reason = f"its results could not be read ({type(err).__name__})"
                    ungraded = dict.fromkeys(handed_in, reason)
            problems.update({name: f"not graded: {why}" for name, why in ungraded.items() if why})
    rows = []
    for task in selected:
        key = (task.notebook, task.task)
        message = problems.get(task.notebook) or messages.get(key, "")
        if not message and key not in scores:
            message = "not graded: nbgrader recorded no score"
        score = 0.0 if message.startswith("not graded") else scores.get(key, 0.0)
        rows.append(Row(student, task.notebook, task.task, score, task.points, message))
    return rows


def _autograde(
    course: Path, scratch: Path, student: str, limits: Limits, sandboxed: bool = True
) -> tuple[str, str]:
    """Run `nbgrader autograde` for one student: what went wrong (empty if nothing), and the
    log.

    HOME and TMPDIR point into the scratch folder, and pip may not reach an index: grading
    needs no network, and a submission must not install anything.
    """
    from tools import sandbox

    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    environment = {"HOME": str(home), "TMPDIR": str(tmp), "PIP_NO_INDEX": "1", "MPLBACKEND": "Agg"}
    args = ["autograde", ASSIGNMENT, f"--student={student}", "--force"]
    readable = sandbox.readable_paths()
    wrap = (lambda argv: sandbox.command(scratch, argv, readable, course)) if sandboxed else None
    process = nbgrader(course, *args, environment=environment, wrap=wrap)
    try:
        log, _ = process.communicate(timeout=limits.student)
    except subprocess.TimeoutExpired:
        stop(process)
        log = process.communicate()[0] or ""
        return f"stopped after {limits.student:g} s, the time limit for one student", log
    if process.returncode != 0:
        return failure_reason(log, limits), log
    return "", log


def _collect_feedback(
    autograded: Path, names: list[str], target: Path, limits: Limits
) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """Copy the autograded notebooks to `target`; the failed checks' messages by (notebook,
    task), and why each notebook without an autograded copy was not graded."""
    messages, ungraded = {}, {}
    for name in names:
        path = autograded / name
        if not path.is_file():
            ungraded[name] = "nbgrader wrote no graded copy of it"
            continue
        shutil.copy(path, target / name)
        notebook = nbformat.read(path, as_version=4)
        for task, message in check_messages(notebook, limits).items():
            messages[(name, task)] = message
    return messages, ungraded


def student_folders(submissions: Path) -> list[Path]:
    """One folder per student in `submissions`, by name; a clear error for anything else."""
    if not submissions.is_dir():
        raise AssignmentError(
            f"submissions={str(submissions)!r} is not a folder: give the folder that holds one "
            "folder per student, each with that student's .ipynb files"
        )
    folders = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise AssignmentError(
            f"submissions={str(submissions)!r} holds no student folder: it should hold one "
            "folder per student (named by the student's id), each with that student's notebooks"
        )
    return folders


def check_bundle(bundle: Path) -> None:
    """Fail clearly unless `bundle` is a course folder written by `release`."""
    needed = ["nbgrader_config.py", "gradebook.db", f"source/{ASSIGNMENT}"]
    missing = [name for name in needed if not (bundle / name).exists()]
    if missing:
        raise AssignmentError(
            f"bundle={str(bundle)!r} is not a teacher's course folder (it lacks "
            f"{', '.join(missing)}): run `python -m tools.assignment release` to write one"
        )


def select_tasks(bundle: Path, wanted: list[str] | None) -> list[Task]:
    """The tasks of the bundle's sources, or only those named in `wanted`."""
    available = []
    for path in sorted((bundle / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grading = cell.metadata.get("nbgrader", {})
            if grading.get("grade"):
                available.append(Task(path.name, grading["grade_id"], grading["points"]))
    if not wanted:
        return available
    known = {task.task for task in available}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise AssignmentError(
            f"task={', '.join(unknown)!s} is not a task of this assignment; "
            f"the tasks are: {', '.join(task.task for task in available)}"
        )
    return [task for task in available if task.task in wanted]


def given_imports(bundle: Path) -> list[str]:
    """The import statements of the given cells of the bundle's source notebooks: what every
    submission imports before its first answer."""
    statements = []
    for path in sorted((bundle / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or not is_given(cell):
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # IPython syntax: a magic or a shell escape
                continue
            imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
            statements += [ast.unparse(node) for node in imports if not getattr(node, "level", 0)]
    return list(dict.fromkeys(statements))


def warm_imports(bundle: Path, seconds: float) -> None:
    """Import what the given cells import, once, outside the sandbox, so that the bytecode
    of torch, d2l and the rest is compiled before any submission runs.

    In the sandbox the environment is read-only, so each kernel would otherwise compile it
    again in memory: on a fresh clone (installers do not precompile) that is minutes of a
    busy machine for every student. A failure here only costs time, so it is not an error.
    """
    program = "\n".join(
        f"try:\n    {statement}\nexcept Exception:\n    pass" for statement in given_imports(bundle)
    )
    try:
        environment = {**os.environ, "MPLBACKEND": "Agg"}
        subprocess.run([sys.executable, "-c", program], cwd=bundle, env=environment,
                       capture_output=True, timeout=seconds, check=False)  # fmt: skip
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
    """Grade every student folder in `submissions`; write and return the score sheet.

    Students are graded `jobs` at a time, each on their own, so that one submission that
    hangs, crashes or deletes files costs its own points only. The rows come in student,
    notebook and task order, whatever order the students finished in. `sandboxed=False`
    grades without bubblewrap, trusting every submission with the teacher's files.
    """
    from tools import sandbox

    folders = student_folders(submissions)
    check_bundle(bundle)
    selected = select_tasks(bundle, only)
    if not isinstance(jobs, int) or jobs < 1:
        raise AssignmentError(f"jobs={jobs!r} must be an integer >= 1")
    names = {task.notebook for task in selected}
    if any(find_submission(folder, name) for folder in folders for name in names):
        if sandboxed:
            try:
                sandbox.check_available()
            except sandbox.SandboxUnavailable as err:
                raise AssignmentError(
                    f"sandboxed=True: {err}; or grade without the sandbox (--no-sandbox), "
                    "trusting every submission with your files"
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
    write_csv(rows, output)
    return rows


def write_csv(rows: list[Row], output: Path) -> None:
    """The score sheet: one line per student and task, scores without a needless `.0`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow([field.name for field in fields(Row)])
        for row in rows:
            values = list(astuple(row))
            values[3:5] = [f"{values[3]:g}", f"{values[4]:g}"]
            writer.writerow(values)


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a score sheet written by `grade`."""
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def totals(rows: Iterable[Row]) -> dict[str, tuple[float, float]]:
    """Each student's total score and the points available, by student."""
    sums: dict[str, tuple[float, float]] = {}
    for row in rows:
        score, points = sums.get(row.student, (0.0, 0.0))
        sums[row.student] = (score + row.score, points + row.max_score)
    return sums


# --- command line -----------------------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.assignment",
        description="Release the assignment without answers, or grade submitted notebooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    out = commands.add_parser("release", help="write the student release and the teacher's course")
    out.add_argument("--out", type=Path, default=OUT, help="default: _build/assignment")
    commands.add_parser("notebooks", help="derive each source's .ipynb from its .md")
    commands.add_parser("tasks", help="list the graded tasks and their points")
    grading = commands.add_parser("grade", help="grade a folder of student folders")
    grading.add_argument("submissions", type=Path, help="one folder per student, with notebooks")
    grading.add_argument("--bundle", type=Path, default=OUT / "teacher",
                         help="the teacher's course folder written by `release`")  # fmt: skip
    grading.add_argument("--csv", type=Path, default=OUT / "grades.csv", help="the score sheet")
    grading.add_argument("--task", action="append", help="grade only this task (repeatable)")
    grading.add_argument("--cell-timeout", type=_positive, default=CELL_TIMEOUT,
                         help="seconds an answer or check cell may run")  # fmt: skip
    grading.add_argument("--given-cell-timeout", type=_positive, default=GIVEN_CELL_TIMEOUT,
                         help="seconds a given cell (setup, imports) may run")  # fmt: skip
    grading.add_argument("--student-timeout", type=_positive, default=STUDENT_TIMEOUT)
    grading.add_argument("--jobs", type=int, default=2, help="students graded at once")
    grading.add_argument("--no-sandbox", action="store_true",
                         help="grade without bubblewrap, trusting every submission")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            student = release(args.out)
            print(f"student release: {display_path(student)} (and {display_path(STUDENT_COPIES)})")
            print(f"teacher's course folder: {display_path(args.out / 'teacher')}")
        elif args.command == "notebooks":
            print("\n".join(refresh_sources()))
        elif args.command == "tasks":
            for task in tasks():
                print(f"{task.notebook:24s} {task.task:20s} {task.points:g} points")
        else:
            limits = Limits(cell=args.cell_timeout, given_cell=args.given_cell_timeout,
                            student=args.student_timeout)  # fmt: skip
            rows = grade(args.submissions, args.bundle, args.csv, args.task, limits, args.jobs,
                         sandboxed=not args.no_sandbox)  # fmt: skip
            for student, (score, points) in totals(rows).items():
                print(f"{student}: {score:g} / {points:g}")
            print(f"scores: {display_path(args.csv.resolve())}")
    except AssignmentError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
