"""Grading that is right or says why not: each way grading can fail has its own message, and
a submission can write to its own scratch folder only."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

from tools import assignment, sandbox

LIMITS = assignment.Limits(cell=30, given_cell=400, startup=120, student=900)


def code_cell(source: str, count: int | None, outputs=(), **grading) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, execution_count=count, outputs=list(outputs))
    if grading:
        cell.metadata["nbgrader"] = {"grade": False, "solution": False, "locked": False,
                                     **grading}  # fmt: skip
    return cell


def error(ename: str, evalue: str = "") -> dict:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


# --- messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        ("RuntimeError: Kernel didn't respond in 120 seconds",
         "the kernel did not start within 120 s"),
        ("RuntimeError: Kernel died before replying to kernel_info",
         "the kernel exited as it started"),
        ("nbclient.exceptions.DeadKernelError: Kernel died",
         "the kernel died while running the notebook"),
        ("[AutogradeApp | ERROR] While processing assignment x, the kernel became unresponsive",
         "the kernel stopped responding to interrupts"),
        ("Traceback (most recent call last):\nsqlite3.OperationalError: no such table: "
         "assignment\n[AutogradeApp | ERROR] ...\nnbgrader.coursedir.NbGraderException: see log",
         "nbgrader failed (sqlite3.OperationalError: no such table: assignment)"),
        ("    nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, "
         "after 4 seconds.\n    The message was: Timeout waiting for IOPub output.",
         "the kernel's output did not arrive in time (the computer was too busy)"),
        ("zmq.error.ZMQError: Socket operation on non-socket\n  File x\n"
         "    ValueError: the last one", "nbgrader failed (ValueError: the last one)"),
        ("nothing recognisable", "nbgrader failed (nothing recognisable)"),
    ],
)  # fmt: skip
def test_each_failure_of_nbgrader_has_its_own_reason(log, reason):
    assert assignment.failure_reason(log, LIMITS) == reason


def notebook(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def test_a_check_cell_that_never_ran_is_not_graded():
    """nbgrader scores a code cell without an error output as passed, so a check cell that was
    not run would earn full points: it is reported instead."""
    book = notebook(
        code_cell("answer = 1", 1, solution=True, grade_id="a"),
        code_cell("assert answer == 1", None, grade=True, locked=True, grade_id="check-a"),
    )
    assert assignment.check_messages(book, LIMITS) == {
        "check-a": "not graded: its check cell was not run"
    }


def test_a_given_cell_that_timed_out_names_its_own_limit():
    book = notebook(
        code_cell("import torch", 1, [error("KeyboardInterrupt")], locked=True, grade_id="imports"),
        code_cell("answer = 1", 2, solution=True, grade_id="a"),
        code_cell("assert answer", 3, [error("NameError", "name 'torch' is not defined")],
                  grade=True, locked=True, grade_id="check-a"),
    )  # fmt: skip
    assert assignment.check_messages(book, LIMITS) == {
        "check-a": "a cell above failed (timed out: the cell was stopped after 400 s); "
        "then NameError: name 'torch' is not defined"
    }


def test_an_answer_that_timed_out_names_the_answers_limit():
    book = notebook(
        code_cell("while True: pass", 1, [error("CellTimeoutError")], solution=True, grade_id="a"),
        code_cell("assert f()", 2, [error("NameError", "f")], grade=True, locked=True,
                  grade_id="check-a"),
    )  # fmt: skip
    assert assignment.check_messages(book, LIMITS)["check-a"].startswith(
        "a cell above failed (timed out: the cell was stopped after 30 s)"
    )


def test_the_configuration_gives_each_cell_the_limit_the_messages_name():
    """nbgrader reads the limits from the course's configuration file; the messages read them
    from `Limits`: the two agree on every cell of the sources."""
    namespace = {"get_config": lambda: _Config()}
    exec(LIMITS.config(), namespace)
    config = namespace["c"]
    assert config.Execute.startup_timeout == 120
    assert config.Execute.raise_on_iopub_timeout is False
    cells = [cell for md in assignment.sources() for cell in
             nbformat.reads(json.dumps(assignment.source_notebook(md)), 4).cells]  # fmt: skip
    given = [cell for cell in cells if assignment.is_given(cell)]
    assert given, "the sources have given cells (setup, imports)"
    for cell in cells:
        assert config.Execute.timeout_func(cell) == LIMITS.of(cell)


class _Config:
    """Enough of traitlets' config object for the course configuration file."""

    def __init__(self):
        self.CourseDirectory = type("Section", (), {})()
        self.Execute = type("Section", (), {})()


def test_grading_says_how_to_get_the_sandbox_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    bundle = tmp_path / "teacher"
    for name in ("nbgrader_config.py", "gradebook.db"):
        (bundle / name).parent.mkdir(parents=True, exist_ok=True)
        (bundle / name).write_text("")
    source = bundle / "source" / assignment.ASSIGNMENT
    source.mkdir(parents=True)
    check = code_cell("assert True", None, grade=True, locked=True, grade_id="t", points=1)
    nbformat.write(notebook(check), source / "one.ipynb")
    (tmp_path / "class" / "ada").mkdir(parents=True)
    nbformat.write(notebook(check), tmp_path / "class" / "ada" / "one.ipynb")
    with pytest.raises(assignment.AssignmentError, match=r"sandboxed=True: bubblewrap .*apt-get "
                       r"install bubblewrap.*--no-sandbox"):  # fmt: skip
        assignment.grade(tmp_path / "class", bundle, tmp_path / "g.csv")


# --- the sandbox ----------------------------------------------------------------------------------

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
    for path in canaries.values():
        path.write_text(token)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    targets = {
        "scratch": str(scratch / "ok.txt"),
        "tmp canary": str(canaries["tmp"]),
        "home canary": str(canaries["home"]),
        "checkout": str(Path(assignment.ROOT) / f"canary-{token}"),
        "python": str(Path(sys.prefix) / f"canary-{token}"),
    }
    try:
        argv = [sys.executable, "-c", PROBE, json.dumps(targets)]
        result = subprocess.run(
            sandbox.command(scratch, argv, sandbox.readable_paths()),
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        seen = json.loads(result.stdout)
        assert [path.read_text() for path in canaries.values()] == [token, token]
    finally:
        for path in canaries.values():
            path.unlink(missing_ok=True)
    assert seen["scratch"] == "written" and (scratch / "ok.txt").read_text() == "changed"
    # hidden: a write there lands in an empty folder of the sandbox's own, then vanishes
    assert seen["tmp canary"] == "written" and seen["home canary"] == "written"
    assert seen["checkout"] == "OSError" and seen["python"] == "OSError"  # read-only
    assert not (Path(assignment.ROOT) / f"canary-{token}").exists()
    assert f"canary-{token}" not in seen["tmp"]
    assert seen["processes"] <= 3  # bubblewrap's and the probe's: no process of the teacher's
