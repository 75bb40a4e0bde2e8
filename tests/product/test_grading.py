"""Grading that is right or says why not: each failure has its own message, bad input is named
with what is accepted, and a submission can write to its own scratch folder only."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from tools import assignment, sandbox
from tools.assignment import ROOT

LIMITS = assignment.Limits(cell=30, given_cell=400, startup=120, student=900)
FAILURES = {
    "RuntimeError: Kernel didn't respond in 120 seconds": "the kernel did not start within 120 s",
    "RuntimeError: Kernel died before replying to kernel_info": "the kernel exited as it started",
    "DeadKernelError: Kernel died": "the kernel died while running the notebook",
    "[AutogradeApp | ERROR] While processing assignment x, the kernel became unresponsive": (
        "the kernel stopped responding to interrupts"
    ),
    "Traceback (most recent call last):\nsqlite3.OperationalError: no such table: assignment\n"
    "[AutogradeApp | ERROR] ...\nnbgrader.coursedir.NbGraderException: see log": (
        "nbgrader failed (sqlite3.OperationalError: no such table: assignment)"
    ),
    "    nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, "
    "after 4 seconds.\n    The message was: Timeout waiting for IOPub output.": (
        "the kernel's output did not arrive in time (the computer was too busy)"
    ),
    "zmq.error.ZMQError: Socket operation on non-socket\n  File x\n    ValueError: the last one": (
        "nbgrader failed (ValueError: the last one)"
    ),
    "nothing recognisable": "nbgrader failed (nothing recognisable)",
}


@pytest.mark.parametrize(("log", "reason"), FAILURES.items(), ids=range(len(FAILURES)))
def test_each_failure_of_nbgrader_has_its_own_reason(log, reason):
    assert assignment.failure_reason(log, LIMITS) == reason


def cell(kind: str, count: int | None, ename: str = "", evalue: str = "") -> nbformat.NotebookNode:
    """A code cell of `kind`, run as `count`, with the error `ename` (or output to "stderr")."""
    grading = {
        "given": {"locked": True, "grade_id": "imports"},
        "answer": {"solution": True, "grade_id": "a"},
        "check": {"grade": True, "locked": True, "grade_id": "check-a", "points": 2},
    }[kind]
    error = nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])
    if ename == "stderr":
        error = nbformat.v4.new_output("stream", name="stderr", text="a warning")
    made = nbformat.v4.new_code_cell("pass", execution_count=count, outputs=[error][: bool(ename)])
    made.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False, **grading}
    return made


TIMED_OUT = "a cell above failed (timed out: the cell was stopped after {:g} s); then NameError"
NOT_ANSWERED = "not answered yet: the answer still raises NotImplementedError"
CHECKS = {  # nbgrader's score of a check cell, and why it did not pass
    "passed": ([cell("answer", 1), cell("check", 2)], (2, "")),
    "stderr": (
        [cell("answer", 1), cell("check", 2, "stderr")],
        (0, "the check cell wrote to stderr, which nbgrader counts as failing"),
    ),
    # nbgrader scores a check cell without an error as passed, even one that never ran
    "check-not-run": (
        [cell("answer", 1), cell("check", None)],
        (0, "not graded: its check cell was not run"),
    ),
    "given-cell-timed-out": (
        [cell("given", 1, "KeyboardInterrupt"), cell("answer", 2), cell("check", 3, "NameError")],
        (0, TIMED_OUT.format(LIMITS.given_cell)),
    ),
    "answer-timed-out": (
        [cell("answer", 1, "CellTimeoutError"), cell("check", 2, "NameError", "f\nmore")],
        (0, TIMED_OUT.format(LIMITS.cell) + ": f"),
    ),
    "not-answered": (
        [cell("answer", 1, "NotImplementedError"), cell("check", 2, "NameError", "x")],
        (0, NOT_ANSWERED),
    ),
}


@pytest.mark.parametrize(("cells", "result"), CHECKS.values(), ids=CHECKS)
def test_a_check_scores_as_nbgrader_and_says_why_it_did_not_pass(cells, result):
    notebook = nbformat.v4.new_notebook(cells=cells)
    assert assignment.check_results(notebook, LIMITS) == {"check-a": result}


def test_the_configuration_gives_each_cell_the_limit_the_messages_name():
    """nbgrader's limits (the course's configuration) and the messages' (`Limits`) agree."""
    section = type("Section", (), {})
    config = type("Config", (), {"CourseDirectory": section(), "Execute": section()})()
    exec(LIMITS.config(), {"get_config": lambda: config})
    assert config.Execute.startup_timeout == 120 and config.Execute.raise_on_iopub_timeout is False
    cells = [cell for md in assignment.sources() for cell in assignment.source_notebook(md).cells]
    assert any(assignment.is_given(cell) for cell in cells), "given cells (setup, imports)"
    assert {config.Execute.timeout_func(cell) == LIMITS.of(cell) for cell in cells} == {True}


@pytest.fixture
def course(tmp_path) -> Path:
    """A teacher's course folder of one notebook with one task, `check-a` (an empty gradebook)."""
    (tmp_path / "teacher" / "source" / assignment.ASSIGNMENT).mkdir(parents=True)
    for name in ("nbgrader_config.py", "gradebook.db"):
        (tmp_path / "teacher" / name).write_text("")
    one = tmp_path / "teacher" / "source" / assignment.ASSIGNMENT / "one.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell("check", None)]), one)
    return tmp_path / "teacher"


def test_bad_input_is_named_with_what_is_accepted(tmp_path, course, monkeypatch):
    """Including a missing sandbox: how to get it, or to grade without it."""
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "class" / "ada").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "class" / "ada" / "one.ipynb")
    for folder, bundle, only, match in [
        ("nowhere", course, None, r"submissions='.*nowhere' is not a folder: give the folder"),
        ("empty", course, None, "holds no student folder: give the folder"),
        ("class", course, ["nonsense"], "task=nonsense is not a task.*the tasks are: check-a"),
        ("class", tmp_path, None, r"bundle='.*' is not a teacher's course folder.*release"),
        ("class", course, None, r"sandboxed=True: bubblewrap .*apt-get install.*--no-sandbox"),
    ]:
        with pytest.raises(assignment.AssignmentError, match=match):
            assignment.grade(tmp_path / folder, bundle, tmp_path / "g.csv", only=only)
    for argv, message in [
        (["grade", "nowhere"], "submissions='nowhere' is not a folder"),
        (["grade", "x", "--cell-timeout", "0"], "--cell-timeout: must be a number of seconds > 0"),
    ]:
        command = [sys.executable, "-m", "tools.assignment", *argv]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_missing_or_broken_notebook_or_a_bad_student_id_is_reported_not_run(tmp_path, course):
    for student, name, text in [
        ("ada", "notes.txt", "no notebook here"),
        ("bob", "one.ipynb", "this is not a notebook"),
        ("bad id!", "one.ipynb", nbformat.writes(nbformat.v4.new_notebook())),
    ]:
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / name).write_text(text)
    rows = assignment.grade(tmp_path / "class", course, tmp_path / "g.csv", sandboxed=False)
    assert [(r.student, r.score, r.message) for r in rows] == [
        ("ada", 0, "one.ipynb was not handed in"),
        ("bad id!", 0, "folder name 'bad id!' is not a usable student id (letters, digits, _.@+-)"),
        ("bob", 0, "one.ipynb is not a Jupyter notebook (NotJSONError)"),
    ]


@pytest.mark.processes
def test_a_student_over_the_time_limit_is_stopped_with_all_it_started(tmp_path):
    """A kernel that ignores interrupts runs in a session of its own: stop it all the same."""
    started = tmp_path / "grandchild.pid"
    child = f"setsid sleep 600 & echo $! > {started}; sleep 600"  # `setsid`, as a kernel starts
    process = subprocess.Popen(["sh", "-c", child], stdout=subprocess.PIPE, text=True)
    start = time.perf_counter()
    _, why = assignment.finish(process, assignment.Limits(student=3))
    assert why == "stopped after 3 s, the time limit for one student"
    assert time.perf_counter() - start < 10
    try:
        _, alive = psutil.wait_procs([psutil.Process(int(started.read_text()))], timeout=5)
    except psutil.NoSuchProcess:
        alive = []
    assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive), "the student's process runs on"


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
    canaries = [Path("/tmp") / f"canary-{token}", Path.home() / f"canary-{token}"]
    (tmp_path / "scratch").mkdir()
    targets = {
        "scratch": str(tmp_path / "scratch" / "ok.txt"),
        "tmp canary": str(canaries[0]),
        "home canary": str(canaries[1]),
        "checkout": str(ROOT / f"canary-{token}"),
        "python": str(Path(sys.prefix) / f"canary-{token}"),
    }
    argv = [sys.executable, "-c", PROBE, json.dumps(targets)]
    try:
        for path in canaries:
            path.write_text(token)
        command = sandbox.command(tmp_path / "scratch", argv, sandbox.readable_paths())
        seen = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
        assert [path.read_text() for path in canaries] == [token, token]
    finally:
        for path in canaries:
            path.unlink(missing_ok=True)
    assert (
        seen["scratch"] == "written" and (tmp_path / "scratch" / "ok.txt").read_text() == "changed"
    )
    # hidden: a write there lands in an empty folder of the sandbox's own, then vanishes
    assert seen["tmp canary"] == "written" and seen["home canary"] == "written"
    assert seen["checkout"] == "OSError" and seen["python"] == "OSError"  # read-only
    assert not (ROOT / f"canary-{token}").exists()
    assert f"canary-{token}" not in seen["tmp"]
    assert seen["processes"] <= 3  # bubblewrap's and the probe's: no process of the teacher's
