"""The graded assignment as students and teachers get it: the tasks, the student notebooks
without answers, the release, and a made-up class of six (the answers, nothing, mistakes, a hang,
a notebook that deletes files, a kernel that dies) graded once by the real grader."""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import re
import sys
import uuid
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import d2lsetup
from tests.product.test_assignment_answers import CELLS, answer
from tools import assignment, colab_smoke, sandbox
from tools.assignment import grading
from tools.book import config

SOURCES = assignment.sources()
NAMES = [f"{md.stem}.ipynb" for md in SOURCES]
EXERCISES, EXPLORER = NAMES
FULL_MARKS = {task.task: task.points for task in assignment.tasks()}
EXPLORER_TASKS = [task.task for task in assignment.tasks() if task.notebook == EXPLORER]
CELL_TIMEOUT = 30  # long enough for the slowest honest cell on a busy two-core machine
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def test_each_task_has_an_answer_a_visible_check_and_hidden_tests():
    exercises = "remainder-sizes remainder-loaders on-disk disk-shuffle on-the-fly same-data"
    assert [task.task for task in assignment.tasks()] == [*exercises.split(), *EXPLORER_TASKS]
    assert EXPLORER_TASKS == ["noise", "small-n", "batches", "bias"]
    for md in SOURCES:
        cells = [c for c in assignment.source_notebook(md).cells if c.cell_type == "code"]
        assert len({grading(c)["grade_id"] for c in cells}) == len(cells), "grade ids repeat"
        for before, check in zip(cells, cells[1:], strict=False):
            if task := grading(check).get("grade") and grading(check)["grade_id"]:
                assert grading(before).get("solution") and SOLUTION.search(before.source), task
                assert HIDDEN.search(check.source), f"{task}: no hidden tests"
                assert "assert" in HIDDEN.sub("", check.source), f"{task}: no visible check"
                assert grading(check)["points"] > 0
    text = "\n".join(md.read_text() for md in SOURCES)  # graded code uses the generated package
    uses = ["from d2lsave import SyntheticRegressionData", "from d2lsave import RegressionExplorer"]
    uses += ["explorer.values", "explorer.set(", "explorer.data()", "explorer.fit()"]
    assert [api for api in uses if api not in text] == []


@pytest.fixture(scope="module")
def student() -> dict[str, nbformat.NotebookNode]:
    return {f"{md.stem}.ipynb": assignment.student_notebook(md) for md in SOURCES}


def test_student_notebooks_keep_the_visible_checks_and_links_and_drop_answers(student):
    for name, notebook in student.items():
        setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert setup.source == d2lsetup.setup_cell(d2lsetup.DEFAULT)
        assert "hide-cell" in setup.metadata.tags and grading(setup)["locked"] is True
        for cell in notebook.cells:
            assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
            assert "nbgrader" not in cell.source, "students need no grader"
            assert not cell.get("outputs"), (name, cell.id)
            if grading(cell).get("solution"):
                assert "raise NotImplementedError()" in cell.source, (name, cell.id)
            if grading(cell).get("grade"):
                assert "assert " in cell.source, (name, cell.id)
        github = config()["repository"]["url"].removeprefix("https://github.com/")
        path = f"{github}/blob/{config()['repository']['branch']}/assignments/student/{name}"
        assert f"https://colab.research.google.com/github/{path}" in readme()
        assert f"https://studiolab.sagemaker.aws/import/github/{path}" in readme()


def readme() -> str:
    return assignment.readme(NAMES, config()["repository"])


@pytest.mark.parametrize("pattern", [SOLUTION, HIDDEN], ids=["solutions", "hidden-tests"])
def test_no_solution_or_hidden_test_leaks_to_students(student, pattern):
    shown = {
        line.strip()
        for notebook in student.values()
        for cell in notebook.cells
        for line in cell.source.splitlines()
    } | set(readme().splitlines())
    for md in SOURCES:
        text = md.read_text()
        inside = {line.strip() for region in pattern.findall(text) for line in region.splitlines()}
        outside = {line.strip() for line in pattern.sub("", text).splitlines()}
        lines = {line for line in inside - outside if len(line) >= 12 and line[0] != "#"}
        assert len(lines) >= 10, f"too few distinctive lines in {md.name} to search for"
        assert sorted(lines & shown) == [], f"{md.name} leaks into the student notebooks"


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """The student release and the teacher's course, written in a scratch folder."""
    out = tmp_path_factory.mktemp("assignment")
    assignment.release(out)
    return out


def test_the_committed_student_copies_are_what_nbgrader_releases(released):
    """The links open `assignments/student/`, the very notebooks nbgrader releases and grades."""
    for name in NAMES:
        committed = (assignment.STUDENT_COPIES / name).read_bytes()
        assert committed == (released / "student" / name).read_bytes()
    assert (released / "student" / "README.txt").read_text() == readme()
    assert zipfile.ZipFile(released / "student.zip").namelist() == ["README.txt", *NAMES]
    assert (released / "teacher" / "gradebook.db").exists()


# --- a made-up class ------------------------------------------------------------------------


def submission(name: str, changes: dict[str, tuple[str, ...]] | None = None):
    """The student notebook `name` with every answer filled in: the model answer, changed as
    `answer` changes it for a task in `changes`."""
    notebook = assignment.student_notebook(assignment.SOURCES / name.replace(".ipynb", ".md"))
    for task, (code, index) in CELLS.items():
        for cell in notebook.cells:
            if grading(cell).get("grade_id") == grading(code[index])["grade_id"]:
                cell.source = answer(task, *(changes or {}).get(task, ()))
    return notebook


# Deletes what it can reach: relative to its folder, in HOME and /tmp, the course folder that
# /proc/self leads to, and by absolute path the teacher's files and canaries (`write_class`).
VANDAL = """\
import glob, os, shutil, tempfile
from pathlib import Path

targets = [Path(p) for p in {targets!r}]
targets += [Path(p) for p in glob.glob("/tmp/canary-*") + glob.glob({home!r} + "/canary-*")]
here = Path(os.readlink("/proc/self/cwd"))
targets += [folder for folder in here.parents if (folder / "gradebook.db").exists()]
targets += [Path.cwd(), Path("../../.."), Path.home(), Path(tempfile.gettempdir())]
for target in targets:
    try:
        if target.is_dir():
            for child in target.resolve().iterdir():
                (shutil.rmtree if child.is_dir() else os.remove)(child)
        else:
            target.write_text("overwritten")
            target.unlink()
    except OSError:
        pass
"""
CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"
OFF_BY_ONE = ("if left_over and not drop_last:", "if False:")


def write_class(folder: Path, teacher: Path, canaries: list[Path]) -> None:
    """Six students' hand-ins, as a teacher collects them: one folder per student."""
    outside = [str(p) for p in (*canaries, teacher, folder, folder.parent)]
    vandal = VANDAL.format(targets=outside, home=str(Path.home()))
    # and a right answer unlike the model's, which keeps its points: randn imported from torch
    randn = ("def bytes", "from torch import randn\n\n\ndef bytes", "torch.randn(", "randn(")
    for student, notebooks in {
        "reference": {name: submission(name) for name in NAMES},
        "untouched": dict(zip(NAMES, map(assignment.student_notebook, SOURCES), strict=True)),
        "mistakes": {
            EXERCISES: submission(EXERCISES, {"remainder-sizes": OFF_BY_ONE, "on-disk": randn}),
            f"Copy of {EXPLORER}": submission(EXPLORER, {"batches": ("= 31", "= 30")}),  # Colab
        },
        "hangs": {
            EXERCISES: submission(EXERCISES, {"remainder-sizes": ("while True:\n    pass",)})
        },
        "vandal": {
            EXPLORER: submission(
                EXPLORER, {"noise": ("w1_error = None", vandal + "w1_error = None")}
            ),
            EXERCISES: "this is not a notebook",
        },
        "kernel-dies": {
            EXPLORER: submission(
                EXPLORER, {"noise": ("w1_error = None", CRASH + "w1_error = None")}
            )
        },
    }.items():
        (folder / student).mkdir(parents=True)
        for name, notebook in notebooks.items():
            text = notebook if isinstance(notebook, str) else nbformat.writes(notebook)
            (folder / student / name).write_text(text)


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """The class graded as on a fresh clone (no bytecode compiled), two students at a time; with
    the state before and after of what no submission may change."""
    work = tmp_path_factory.mktemp("class")
    submissions, cache, token = work / "submissions", work / "bytecode", uuid.uuid4().hex
    canaries = [Path("/tmp") / f"canary-{token}", Path.home() / f"canary-{token}"]

    def state() -> dict:
        return {
            "submissions": digest(submissions),
            "teacher": digest(released / "teacher"),
            "canaries": [p.read_text() if p.exists() else None for p in canaries],
            "versions": [importlib.metadata.version(p) for p in ("ipywidgets", "torch", "numpy")],
        }

    try:
        for path in canaries:
            path.write_text(token)
        write_class(submissions, released / "teacher", canaries)
        before = state()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PYTHONPYCACHEPREFIX", str(cache))  # empty: nothing compiled yet
            patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as on a reader's machine
            limits = assignment.Limits(cell=CELL_TIMEOUT)
            rows = assignment.grade(
                submissions, released / "teacher", work / "grades.csv", None, limits
            )
        after = state()
    finally:
        for path in canaries:
            path.unlink(missing_ok=True)
    sheets = {}
    for row in rows:
        sheets.setdefault(row.student, {})[row.task] = (row.score, row.message)
    return dict(rows=rows, sheets=sheets, work=work, before=before, after=after, cache=cache)


@pytest.mark.kernel
def test_the_reference_answers_score_full_marks_and_the_untouched_release_zero(graded):
    assert graded["sheets"]["reference"] == {task: (p, "") for task, p in FULL_MARKS.items()}
    not_answered = "not answered yet: the answer still raises NotImplementedError"
    assert graded["sheets"]["untouched"] == {task: (0, not_answered) for task in FULL_MARKS}


@pytest.mark.kernel
def test_each_mistake_costs_its_own_task_with_a_message_naming_it(graded):
    sheet = graded["sheets"]["mistakes"].items()
    mistakes = {task: message for task, (score, message) in sheet if score < FULL_MARKS[task]}
    assert sorted(mistakes) == ["batches", "remainder-sizes"]  # on-disk's randn import is right
    assert "off by one" in mistakes["remainder-sizes"] and "not 31" in mistakes["remainder-sizes"]
    assert "off by one" in mistakes["batches"] and "31 in all" in mistakes["batches"]
    total = sum(score for score, _ in graded["sheets"]["mistakes"].values())
    assert total == sum(FULL_MARKS.values()) - sum(FULL_MARKS[task] for task in mistakes)


@pytest.mark.kernel
def test_a_hanging_answer_is_stopped_and_the_rest_is_graded(graded):
    rows = dict(graded["sheets"]["hangs"])
    timed_out = f"timed out: the cell was stopped after {CELL_TIMEOUT} s"
    assert rows.pop("remainder-sizes") == (0, timed_out)
    for task in EXPLORER_TASKS:
        assert rows.pop(task) == (0, f"{EXPLORER} was not handed in")
    assert rows == {task: (FULL_MARKS[task], "") for task in rows}


@pytest.mark.kernel
def test_a_submission_that_deletes_files_harms_only_its_own_scratch_copy(graded):
    """All it deletes is its own scratch course, so it is not graded, and says so."""
    for what in ("submissions", "teacher", "canaries"):
        assert graded["after"][what] == graded["before"][what], what
    rows = graded["sheets"]["vandal"]
    assert all(score == 0 for score, _ in rows.values())
    assert rows["same-data"][1] == f"{EXERCISES} is not a Jupyter notebook (NotJSONError)"
    assert len({rows[task][1] for task in EXPLORER_TASKS}) == 1
    assert rows["noise"][1].startswith("not graded: ")


@pytest.mark.kernel
def test_a_kernel_that_dies_is_reported_never_a_silent_zero(graded):
    """No task of its notebook is reported as scored, nor is any zero without why."""
    for task in EXPLORER_TASKS:
        reason = "not graded: the kernel died while running the notebook"
        assert graded["sheets"]["kernel-dies"][task] == (0, reason), task
    assert [row for row in graded["rows"] if row.score < row.max_score and not row.message] == []


@pytest.mark.kernel
def test_the_score_sheet_has_a_row_per_student_and_task_and_feedback(graded):
    with (graded["work"] / "grades.csv").open(newline="") as file:
        lines = list(csv.DictReader(file))
    assert list(lines[0]) == ["student", "notebook", "task", "score", "max_score", "message"]
    assert len(lines) == 6 * len(FULL_MARKS)
    assert [line["student"] for line in lines] == sorted(line["student"] for line in lines)
    row = next(r for r in lines if (r["student"], r["task"]) == ("mistakes", "remainder-sizes"))
    assert (row["score"], row["max_score"]) == ("0", "2")
    assert row["message"].startswith("AssertionError: 1000 examples in minibatches of 32")
    feedback = graded["work"] / "graded" / "reference"
    assert (feedback / EXERCISES).exists(), "the autograded notebooks are kept for feedback"
    log = (feedback / "nbgrader.log").read_text()
    assert "[AutogradeApp | INFO] Creating/updating student with ID 'reference'" in log


@pytest.mark.kernel
def test_grading_compiled_its_own_bytecode_and_moved_no_package(graded):
    """The fresh-clone condition held, and no setup cell installed or changed anything."""
    assert any(graded["cache"].rglob("torch/__init__*.pyc"))
    assert graded["after"]["versions"] == graded["before"]["versions"]


@pytest.mark.kernel
@pytest.mark.parametrize(
    ("kernel", "startup", "reason"),
    [
        ("raise SystemExit(1)", 120, "the kernel exited as it started"),
        ("import time; time.sleep(600)", 5, "the kernel did not start within 5 s"),
    ],
    ids=["exits", "never-answers"],
)
def test_a_kernel_that_does_not_start_is_reported(
    kernel, startup, reason, tmp_path, released, monkeypatch
):
    """A broken environment's kernel: every task of the notebook says so, none scores."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", kernel, "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    readable = sandbox.readable_paths()
    monkeypatch.setattr(sandbox, "readable_paths", lambda: [*readable, tmp_path / "jupyter"])
    (tmp_path / "class" / "ada").mkdir(parents=True)
    nbformat.write(submission(EXPLORER), tmp_path / "class" / "ada" / EXPLORER)
    limits = assignment.Limits(startup=startup)
    rows = assignment.grade(
        tmp_path / "class", released / "teacher", tmp_path / "g.csv", ["noise", "bias"], limits
    )
    assert [(r.task, r.score, r.message) for r in rows] == [
        (task, 0, f"not graded: {reason}") for task in ("noise", "bias")
    ]


# --- where students run it ------------------------------------------------------------------


def errors_on_kernel(notebook: nbformat.NotebookNode, folder: Path) -> dict[str, str]:
    """Run `notebook` in the Colab-like kernel; the errors, by grade id."""
    resources = {"metadata": {"path": str(folder)}}
    kernel = {"kernel_name": colab_smoke.KERNEL, "allow_errors": True, "resources": resources}
    NotebookClient(notebook, timeout=900, **kernel).execute()
    return {
        grading(cell).get("grade_id", "?"): output["ename"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    }


@pytest.mark.colab
@pytest.mark.kernel
def test_the_student_notebooks_run_in_a_colab_like_environment(tmp_path, monkeypatch):
    """With Colab's versions and no grader, solved notebooks pass, untouched ones fail only at
    the answers, and the setup cell adds d2l and d2lsave, changing nothing that was there."""
    try:
        venv = colab_smoke.prepare()
    except colab_smoke.NoPython as missing:
        pytest.skip(str(missing))
    monkeypatch.setattr(colab_smoke, "DIST", tmp_path / "dist")  # not the book run's wheel
    before = colab_smoke.distributions(venv)
    assert before["ipywidgets"] == "7.7.1"
    assert colab_smoke.importable(venv, ["nbgrader", "otter", "d2l", "d2lsave"]) == []
    try:
        with colab_smoke.kernel_environment(venv, colab_smoke.build_wheel()) as scratch:
            for name, md in zip(NAMES, SOURCES, strict=True):
                assert errors_on_kernel(submission(name), Path(scratch)) == {}, name
                failed = errors_on_kernel(assignment.student_notebook(md), Path(scratch))
                assert set(failed.values()) <= {"NotImplementedError", "AssertionError"}, failed
                assert not {"setup", "imports", "explorer"} & set(failed), failed
        after = colab_smoke.distributions(venv)
    finally:
        colab_smoke.reset(venv)  # as the book's own Colab-like run leaves it
    assert [n for n, version in before.items() if after.get(n) != version] == []
    assert sorted(set(after) - set(before)) == ["d2l", "d2lsave"]
