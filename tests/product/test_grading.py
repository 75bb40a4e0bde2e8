"""Grading that is right or says why not: each way grading can fail has its own message, bad
input is named with what is accepted, and a submission can write to its own scratch folder only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from tools import assignment, sandbox
from tools.assignment import ROOT

LIMITS = assignment.Limits(cell=30, given_cell=400, startup=120, student=900)


def code_cell(source: str, count: int | None, outputs=(), **grading) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=count, outputs=list(outputs))
    cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, **grading}
    return cell


def error(ename: str, evalue: str = "") -> dict:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (
            "RuntimeError: Kernel didn't respond in 120 seconds",
            "the kernel did not start within 120 s",
        ),
        (
            "RuntimeError: Kernel died before replying to kernel_info",
            "the kernel exited as it started",
        ),
        (
            "nbclient.exceptions.DeadKernelError: Kernel died",
            "the kernel died while running the notebook",
        ),
        (
            "[AutogradeApp | ERROR] While processing assignment x, the kernel became unresponsive",
            "the kernel stopped responding to interrupts",
        ),
        (
            "Traceback (most recent call last):\nsqlite3.OperationalError: no such table: "
            "assignment\n[AutogradeApp | ERROR] ...\nnbgrader.coursedir.NbGraderException: see log",
            "nbgrader failed (sqlite3.OperationalError: no such table: assignment)",
        ),
        (
            "    nbclient.exceptions.CellTimeoutError: A cell timed out while it was being "
            "executed, after 4 seconds.\n    The message was: Timeout waiting for IOPub output.",
            "the kernel's output did not arrive in time (the computer was too busy)",
        ),
        (
            "zmq.error.ZMQError: Socket operation on non-socket\n  File x\n"
            "    ValueError: the last one",
            "nbgrader failed (ValueError: the last one)",
        ),
        ("nothing recognisable", "nbgrader failed (nothing recognisable)"),
    ],
)
def test_each_failure_of_nbgrader_has_its_own_reason(log, reason):
    assert assignment.failure_reason(log, LIMITS) == reason


ANSWER = code_cell("answer = 1", 2, solution=True, grade_id="a")


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        # nbgrader scores a check cell without an error as passed, even one that never ran
        (
            [ANSWER, code_cell("assert answer", None, grade=True, locked=True, grade_id="check-a")],
            "not graded: its check cell was not run",
        ),
        (
            [
                code_cell(
                    "import torch", 1, [error("KeyboardInterrupt")], locked=True, grade_id="i"
                ),
                ANSWER,
                code_cell(
                    "assert answer",
                    3,
                    [error("NameError", "name 'torch' is not defined")],
                    grade=True,
                    locked=True,
                    grade_id="check-a",
                ),
            ],
            "a cell above failed (timed out: the cell was stopped after 400 s); "
            "then NameError: name 'torch' is not defined",
        ),
        (
            [
                code_cell(
                    "while 1: pass", 1, [error("CellTimeoutError")], solution=True, grade_id="a"
                ),
                code_cell(
                    "assert f()",
                    2,
                    [error("NameError", "f")],
                    grade=True,
                    locked=True,
                    grade_id="check-a",
                ),
            ],
            "a cell above failed (timed out: the cell was stopped after 30 s); then NameError: f",
        ),
    ],
    ids=["check-not-run", "given-cell-timed-out", "answer-timed-out"],
)
def test_a_check_that_did_not_pass_says_why_and_names_the_limit_that_stopped_it(cells, message):
    assert assignment.check_messages(notebook(*cells), LIMITS) == {"check-a": message}


def test_the_configuration_gives_each_cell_the_limit_the_messages_name():
    """nbgrader reads the limits from the course's configuration file, the messages from
    `Limits`: the two agree on every cell of the sources."""
    section = type("Section", (), {})
    config = type("Config", (), {"CourseDirectory": section(), "Execute": section()})()
    exec(LIMITS.config(), {"get_config": lambda: config})
    assert config.Execute.startup_timeout == 120 and config.Execute.raise_on_iopub_timeout is False
    cells = [cell for md in assignment.sources() for cell in assignment.source_notebook(md).cells]
    assert any(assignment.is_given(cell) for cell in cells), "given cells (setup, imports)"
    for cell in cells:
        assert config.Execute.timeout_func(cell) == LIMITS.of(cell)


# --- bad input ----------------------------------------------------------------------------------

CHECK = code_cell("assert True", None, grade=True, locked=True, grade_id="t", points=1)


@pytest.fixture
def course(tmp_path) -> Path:
    """A teacher's course folder of one notebook with one task, `t`, for input that is never
    run (its gradebook is an empty file)."""
    bundle = tmp_path / "teacher"
    (bundle / "source" / assignment.ASSIGNMENT).mkdir(parents=True)
    for name in ("nbgrader_config.py", "gradebook.db"):
        (bundle / name).write_text("")
    nbformat.write(notebook(CHECK), bundle / "source" / assignment.ASSIGNMENT / "one.ipynb")
    return bundle


def test_bad_input_is_named_with_what_is_accepted(tmp_path, course):
    for folder, bundle, only, match in [
        ("nowhere", course, None, r"submissions='.*nowhere' is not a folder"),
        ("empty", course, None, "holds no student folder"),
        ("class", course, ["nonsense"], "task=nonsense is not a task.*the tasks are: t"),
        ("class", tmp_path, None, r"bundle='.*' is not a teacher's course folder.*release"),
    ]:
        (tmp_path / "empty").mkdir(exist_ok=True)
        (tmp_path / "class" / "ada").mkdir(parents=True, exist_ok=True)
        with pytest.raises(assignment.AssignmentError, match=match):
            assignment.grade(tmp_path / folder, bundle, tmp_path / "g.csv", only=only)
    result = subprocess.run(
        [sys.executable, "-m", "tools.assignment", "grade", "nowhere"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_a_missing_or_broken_notebook_or_a_bad_student_id_is_reported_not_run(tmp_path, course):
    for student, files in [
        ("ada", {"notes.txt": "no notebook here"}),
        ("bob", {"one.ipynb": "this is not a notebook"}),
        ("bad id!", {"one.ipynb": nbformat.writes(notebook(CHECK))}),
    ]:
        (tmp_path / "class" / student).mkdir(parents=True)
        for name, text in files.items():
            (tmp_path / "class" / student / name).write_text(text)
    rows = assignment.grade(tmp_path / "class", course, tmp_path / "g.csv", sandboxed=False)
    assert [(r.student, r.task, r.score, r.message) for r in rows] == [
        ("ada", "t", 0, "one.ipynb was not handed in"),
        (
            "bad id!",
            "t",
            0,
            "folder name 'bad id!' is not a usable student id (letters, digits, _.@+-)",
        ),
        ("bob", "t", 0, "one.ipynb is not a Jupyter notebook (NotJSONError)"),
    ]


def test_grading_says_how_to_get_the_sandbox_when_it_is_missing(tmp_path, course, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    (tmp_path / "class" / "ada").mkdir(parents=True)
    nbformat.write(notebook(CHECK), tmp_path / "class" / "ada" / "one.ipynb")
    with pytest.raises(
        assignment.AssignmentError,
        match=r"sandboxed=True: bubblewrap .*apt-get "
        r"install bubblewrap.*--no-sandbox",
    ):
        assignment.grade(tmp_path / "class", course, tmp_path / "g.csv")


# --- the sandbox --------------------------------------------------------------------------------

PROBE = """\
import json, os, sys
from pathlib import Path
result = {"tmp": sorted(os.listdir("/tmp"))}  # before anything is written there
for name, path in json.loads(sys.argv[1]).items():
    try:
        Path(path).write_text("changed")
        result[name] = "written"
    except OSError as err:
        result[name] = type(err).__name__
result["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
print(json.dumps(result))
"""


@pytest.mark.processes
def test_the_sandbox_writes_only_its_folder_and_hides_tmp_and_home(tmp_path):
    sandbox.check_available()
    token = uuid.uuid4().hex
    canaries = {"tmp": Path("/tmp") / f"canary-{token}", "home": Path.home() / f"canary-{token}"}
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    targets = {
        "scratch": str(scratch / "ok.txt"),
        "tmp canary": str(canaries["tmp"]),
        "home canary": str(canaries["home"]),
        "checkout": str(ROOT / f"canary-{token}"),
        "python": str(Path(sys.prefix) / f"canary-{token}"),
    }
    try:
        for path in canaries.values():
            path.write_text(token)
        argv = sandbox.command(
            scratch, [sys.executable, "-c", PROBE, json.dumps(targets)], sandbox.readable_paths()
        )
        seen = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True).stdout)
        assert [path.read_text() for path in canaries.values()] == [token, token]
    finally:
        for path in canaries.values():
            path.unlink(missing_ok=True)
    assert seen["scratch"] == "written" and (scratch / "ok.txt").read_text() == "changed"
    # hidden: a write there lands in an empty folder of the sandbox's own, then vanishes
    assert seen["tmp canary"] == "written" and seen["home canary"] == "written"
    assert seen["checkout"] == "OSError" and seen["python"] == "OSError"  # read-only
    assert not (ROOT / f"canary-{token}").exists()
    assert f"canary-{token}" not in seen["tmp"]
    assert seen["processes"] <= 3  # bubblewrap's and the probe's: no process of the teacher's
