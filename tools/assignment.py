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
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import jupytext
import nbformat
import yaml

from tools.book_notebooks import ROOT, display_path, is_notebook
from tools.classroom import launch_links

SOURCES = ROOT / "assignments"
STUDENT_COPIES = SOURCES / "student"
OUT = ROOT / "_build" / "assignment"
ASSIGNMENT = "synthetic-regression-data"
CELL_TIMEOUT = 60  # seconds a cell of a submission may run
STUDENT_TIMEOUT = 900  # seconds all the notebooks of one student may take together
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")
NOT_ANSWERED = "NotImplementedError"
# What a cell stopped for running too long shows: nbgrader's record of the timeout, and the
# interrupt it sends (no one presses Ctrl-C during grading).
TIMEOUT_ERRORS = ("CellTimeoutError", "KeyboardInterrupt")
COURSE_CONFIG = f"""\
# nbgrader settings of this course, written by `python -m tools.assignment release`.
c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "{ASSIGNMENT}"
c.Execute.timeout = {CELL_TIMEOUT}
"""


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
    notebook = jupytext.read(md)
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
    course: Path, *args: str, environment: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start `nbgrader ARGS` in the course folder `course`, in a process group of its own,
    with `environment` added to this process's variables.

    nbgrader runs `alembic` from the PATH, so this environment's scripts come first there.
    """
    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": scripts + os.pathsep + os.environ.get("PATH", "")}
    env.update(environment or {})
    return subprocess.Popen(
        [sys.executable, "-m", "nbgrader", *args],
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
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG)
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


def _describe(error: dict, cell_timeout: float) -> str:
    """One line for an error output: its type and the first line of its message."""
    if error.get("ename") in TIMEOUT_ERRORS:
        return f"timed out: the cell was stopped after {cell_timeout:g} s"
    if _is_unanswered(error):
        return f"not answered yet: the answer still raises {NOT_ANSWERED}"
    first_line = (error.get("evalue") or "").strip().splitlines()[:1]
    return ": ".join([error.get("ename", "error"), *first_line])


def check_messages(notebook: nbformat.NotebookNode, cell_timeout: float) -> dict[str, str]:
    """For each check cell that failed, the reason: its own error, and the answer's if any.

    A cell above it that failed (an answer that timed out or still raises
    NotImplementedError, or a setup cell) is the likely cause, so it leads the message.
    """
    messages, answer_error = {}, None
    for cell in notebook.cells:
        grading = cell.get("metadata", {}).get("nbgrader", {})
        error = _first_error(cell)
        if not grading.get("grade"):
            answer_error = answer_error or error
            continue
        if error is not None and _is_unanswered(answer_error):
            messages[grading["grade_id"]] = _describe(answer_error, cell_timeout)
        elif error is not None:
            reasons = [_describe(e, cell_timeout) for e in (answer_error, error) if e is not None]
            unique = list(dict.fromkeys(reasons))
            if len(unique) == 2:
                unique[0] = f"a cell above failed ({unique[0]})"
            messages[grading["grade_id"]] = "; then ".join(unique)
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


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (the kernel runs in a session of its own,
    so killing nbgrader's process group alone would leave it running)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields_after_name = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields_after_name[1]), []).append(int(stat.parent.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def stop(process: subprocess.Popen) -> None:
    """Kill `process` and everything it started."""
    for pid in [*_descendants(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def _scratch_course(bundle: Path, scratch: Path) -> Path:
    """A private copy of the teacher's course for one student, under `scratch`."""
    course = scratch / "course"
    course.mkdir(parents=True)
    shutil.copy2(bundle / "nbgrader_config.py", course)
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
                scores[(name, grade.name)] = float(grade.score)
    return scores


def grade_student(
    student_dir: Path,
    bundle: Path,
    selected: list[Task],
    graded: Path,
    cell_timeout: float = CELL_TIMEOUT,
    student_timeout: float = STUDENT_TIMEOUT,
) -> list[Row]:
    """Grade one student's notebooks in a scratch folder of their own; a row per task.

    Whatever the submission does, a crash, a hang or deleted files stay with this student:
    the kernel runs in the scratch copy with HOME and TMPDIR there, each cell is stopped after
    `cell_timeout` seconds, and the whole run, kernel included, after `student_timeout`.
    The autograded notebooks are copied to `graded/<student>/` for feedback.
    """
    student = student_dir.name
    names = list(dict.fromkeys(task.notebook for task in selected))
    if not STUDENT_ID.match(student):
        reason = f"folder name {student!r} is not a usable student id (letters, digits, _.@+-)"
        return [Row(student, t.notebook, t.task, 0.0, t.points, reason) for t in selected]
    problems, scores, messages, outcome = {}, {}, {}, ""
    with tempfile.TemporaryDirectory(prefix="grade-", ignore_cleanup_errors=True) as name:
        scratch = Path(name)
        course = _scratch_course(bundle, scratch)
        submitted = course / "submitted" / student / ASSIGNMENT
        submitted.mkdir(parents=True)
        for notebook in names:
            path = find_submission(student_dir, notebook)
            reason = f"{notebook} was not handed in" if path is None else _not_a_notebook(path)
            if reason:
                problems[notebook] = reason
            else:
                shutil.copy(path, submitted / notebook)
        if len(problems) < len(names):
            outcome = _autograde(course, scratch, student, cell_timeout, student_timeout)
            try:
                scores = _scores(course, student, names)
                messages = _collect_feedback(course, student, names, graded, cell_timeout)
            except Exception as err:  # the submission may have wrecked its scratch course
                outcome = outcome or f"its results could not be read ({type(err).__name__})"
    rows = []
    for task in selected:
        key = (task.notebook, task.task)
        message = problems.get(task.notebook) or messages.get(key, "")
        if key not in scores and not message:
            message = f"not graded: {outcome or 'nbgrader recorded no score'}"
        rows.append(Row(student, task.notebook, task.task, scores.get(key, 0.0), task.points,
                        message))  # fmt: skip
    return rows


def _autograde(
    course: Path, scratch: Path, student: str, cell_timeout: float, student_timeout: float
) -> str:
    """Run `nbgrader autograde` for one student; empty if it finished, else what went wrong.

    HOME and TMPDIR point into the scratch folder, and pip may not reach an index: grading
    needs no network, and a submission must not install anything.
    """
    home, tmp = scratch / "home", scratch / "tmp"
    home.mkdir()
    tmp.mkdir()
    environment = {"HOME": str(home), "TMPDIR": str(tmp), "PIP_NO_INDEX": "1", "MPLBACKEND": "Agg"}
    process = nbgrader(
        course,
        "autograde",
        ASSIGNMENT,
        f"--student={student}",
        "--force",
        f"--Execute.timeout={max(1, round(cell_timeout))}",
        environment=environment,
    )
    try:
        log, _ = process.communicate(timeout=student_timeout)
    except subprocess.TimeoutExpired:
        stop(process)
        return f"stopped after {student_timeout:g} s, the time limit for one student"
    if process.returncode != 0:
        last = [line for line in log.splitlines() if line.strip()][-1:] or ["no output"]
        return f"nbgrader failed ({last[0][:200]})"
    return ""


def _collect_feedback(
    course: Path, student: str, names: list[str], graded: Path, cell_timeout: float
) -> dict[tuple[str, str], str]:
    """Copy the autograded notebooks to `graded/<student>/`; the failed checks' messages."""
    messages = {}
    autograded = course / "autograded" / student / ASSIGNMENT
    target = graded / student
    if target.exists():
        shutil.rmtree(target)
    for name in names:
        path = autograded / name
        if not path.is_file():
            continue
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / name)
        notebook = nbformat.read(path, as_version=4)
        for task, message in check_messages(notebook, cell_timeout).items():
            messages[(name, task)] = message
    return messages


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


def grade(
    submissions: Path,
    bundle: Path = OUT / "teacher",
    output: Path = OUT / "grades.csv",
    only: list[str] | None = None,
    cell_timeout: float = CELL_TIMEOUT,
    student_timeout: float = STUDENT_TIMEOUT,
    jobs: int = 2,
) -> list[Row]:
    """Grade every student folder in `submissions`; write and return the score sheet.

    Students are graded `jobs` at a time, each on their own, so that one submission that
    hangs, crashes or deletes files costs its own points only. The rows come in student,
    notebook and task order, whatever order the students finished in.
    """
    folders = student_folders(submissions)
    check_bundle(bundle)
    selected = select_tasks(bundle, only)
    if jobs < 1:
        raise AssignmentError(f"jobs={jobs!r} must be an integer >= 1")
    graded = output.parent / "graded"

    def grade_one(folder: Path) -> list[Row]:
        try:
            return grade_student(folder, bundle, selected, graded, cell_timeout, student_timeout)
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
    grading.add_argument("--cell-timeout", type=_positive, default=CELL_TIMEOUT)
    grading.add_argument("--student-timeout", type=_positive, default=STUDENT_TIMEOUT)
    grading.add_argument("--jobs", type=int, default=2, help="students graded at once")
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
            rows = grade(args.submissions, args.bundle, args.csv, args.task, args.cell_timeout,
                         args.student_timeout, args.jobs)  # fmt: skip
            for student, (score, points) in totals(rows).items():
                print(f"{student}: {score:g} / {points:g}")
            print(f"scores: {display_path(args.csv.resolve())}")
    except AssignmentError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    sys.exit(main())
