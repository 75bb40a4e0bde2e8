"""The graded assignment as students and teachers get it: the tasks, the student notebooks
without answers, the release, and a made-up class graded by the real grader.

One release and one grading run (module fixtures) serve the slow tests: a class of six made-up
students, each handing in what a real class hands in (the answers, nothing, typical mistakes, a
hang, a notebook that deletes files, a kernel that dies), graded as `make grade` grades them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import jupytext
import nbformat
import psutil
import pytest
import yaml
from nbclient import NotebookClient

import d2lsetup
from tools import assignment, colab_smoke, sandbox
from tools.assignment import ROOT

SOURCES = assignment.sources()
NAMES = [f"{md.stem}.ipynb" for md in SOURCES]
EXERCISES, EXPLORER = NAMES
EXPLORER_TASKS = ["noise", "small-n", "batches", "bias"]
CELL_TIMEOUT = 30  # long enough for the slowest honest cell on a busy two-core machine
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def grading(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


# --- the tasks and the student notebooks -----------------------------------------------------


def test_each_task_has_an_answer_a_visible_check_and_hidden_tests():
    by_notebook = {
        name: [t.task for t in assignment.tasks() if t.notebook == name] for name in NAMES
    }
    assert by_notebook == {
        EXERCISES: [
            "remainder-sizes",
            "remainder-loaders",
            "on-disk",
            "disk-shuffle",
            "on-the-fly",
            "same-data",
        ],
        EXPLORER: EXPLORER_TASKS,
    }
    for md in SOURCES:
        cells = [cell for cell in jupytext.read(md).cells if cell.cell_type == "code"]
        ids = [grading(cell)["grade_id"] for cell in cells]
        assert len(ids) == len(set(ids)), "grade ids must be unique"
        for before, cell in zip(cells, cells[1:], strict=False):
            if grading(cell).get("grade"):
                task = grading(cell)["grade_id"]
                assert grading(before).get("solution") and SOLUTION.search(before.source), task
                assert HIDDEN.search(cell.source), f"{task}: no hidden tests"
                assert "assert" in HIDDEN.sub("", cell.source), f"{task}: no visible check"
                assert grading(cell)["points"] > 0


def test_graded_code_uses_the_generated_package():
    text = "\n".join(md.read_text() for md in SOURCES)
    for api in (
        "from d2lsave import SyntheticRegressionData",
        "from d2lsave import RegressionExplorer",
        "explorer.values",
        "explorer.set(",
        "explorer.data()",
        "explorer.fit()",
    ):
        assert api in text


@pytest.fixture(scope="module")
def student() -> dict[str, nbformat.NotebookNode]:
    return {f"{md.stem}.ipynb": assignment.student_notebook(md) for md in SOURCES}


def test_student_notebooks_keep_the_visible_checks_and_drop_answers_and_hidden_tests(student):
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


def readme() -> str:
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    return assignment.readme(NAMES, repository)


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


def test_the_readme_links_each_student_notebook_in_colab_and_studio_lab():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    github = config["url"].removeprefix("https://github.com/")
    for name in NAMES:
        path = f"{github}/blob/{config['branch']}/assignments/student/{name}"
        assert f"https://colab.research.google.com/github/{path}" in readme()
        assert f"https://studiolab.sagemaker.aws/import/github/{path}" in readme()


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """The student release and the teacher's course, written in a scratch folder."""
    out = tmp_path_factory.mktemp("assignment")
    assignment.release(out)
    return out


def test_the_committed_student_copies_are_what_nbgrader_releases(released):
    """The links open `assignments/student/`: the very notebooks nbgrader releases and grades."""
    student = released / "student"
    for name in NAMES:
        assert (assignment.STUDENT_COPIES / name).read_bytes() == (student / name).read_bytes()
    assert (student / "README.txt").read_text() == readme()
    assert zipfile.ZipFile(released / "student.zip").namelist() == ["README.txt", *NAMES]
    assert (released / "teacher" / "gradebook.db").exists()


# --- made-up submissions --------------------------------------------------------------------


def solved(name: str) -> nbformat.NotebookNode:
    """The student notebook with every answer cell filled in from the source's solution."""
    md = assignment.SOURCES / name.replace(".ipynb", ".md")
    notebook = assignment.student_notebook(md)
    answers = {grading(c).get("grade_id"): c.source for c in assignment.source_notebook(md).cells}
    for cell in notebook.cells:
        if grading(cell).get("solution"):
            answer = answers[grading(cell)["grade_id"]]
            cell.source = re.sub(r"\n? *### (BEGIN|END) SOLUTION", "", answer)
    return notebook


def with_answer(notebook: nbformat.NotebookNode, grade_id: str, old: str, new: str):
    """`notebook` with `old` replaced by `new` in the answer cell `grade_id`."""
    cell = next(c for c in notebook.cells if grading(c).get("grade_id") == grade_id)
    assert old in cell.source, f"{old!r} is not in {grade_id}"
    cell.source = cell.source.replace(old, new)
    return notebook


OFF_BY_ONE = """\
    full, left_over = divmod(num_examples, batch_size)
    sizes = [batch_size] * full
    if left_over and not drop_last:
        sizes.append(left_over)
    return sizes"""
# Deletes what it can reach: relative to its folder, in HOME and /tmp, and by absolute path the
# teacher's files the test names (`targets`, filled in by `write_class`), the canaries in the
# real /tmp and HOME, and the course folder that /proc/self leads to.
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


def write_class(folder: Path, teacher: Path, canaries: list[Path]) -> None:
    """Six students' hand-ins, as a teacher collects them: one folder per student."""

    def hand_in(student: str, notebooks: dict[str, nbformat.NotebookNode | str]) -> None:
        (folder / student).mkdir(parents=True)
        for name, notebook in notebooks.items():
            text = notebook if isinstance(notebook, str) else nbformat.writes(notebook)
            (folder / student / name).write_text(text)

    def explorer_answer(code: str) -> nbformat.NotebookNode:
        last = "w1_error = None"
        return with_answer(solved(EXPLORER), "noise-answer", last, code + last)

    hand_in("reference", {name: solved(name) for name in NAMES})
    hand_in(
        "untouched",
        {name: assignment.student_notebook(md) for name, md in zip(NAMES, SOURCES, strict=True)},
    )
    mistakes = with_answer(
        solved(EXERCISES),
        "sizes-answer",
        OFF_BY_ONE,
        "    return [batch_size] * (num_examples // batch_size)",
    )
    # and a right answer unlike the model's, which keeps its points: randn imported from torch
    with_answer(mistakes, "disk-answer", "def bytes", "from torch import randn\n\n\ndef bytes")
    with_answer(mistakes, "disk-answer", "torch.randn(", "randn(")
    explorer = with_answer(
        solved(EXPLORER), "batches-answer", "num_minibatches = 31", "num_minibatches = 30"
    )
    hand_in("mistakes", {EXERCISES: mistakes, f"Copy of {EXPLORER}": explorer})  # as Colab saves
    hand_in(
        "hangs",
        {
            EXERCISES: with_answer(
                solved(EXERCISES), "sizes-answer", OFF_BY_ONE, "    while True:\n        pass"
            )
        },
    )
    outside = [str(p) for p in (*canaries, teacher, folder, folder.parent)]
    vandal = explorer_answer(VANDAL.format(targets=outside, home=str(Path.home())))
    hand_in("vandal", {EXPLORER: vandal, EXERCISES: "this is not a notebook"})
    hand_in("kernel-dies", {EXPLORER: explorer_answer(CRASH)})


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


WATCHED = ["ipywidgets", "torch", "numpy"]  # what a student's setup cell must never move


def versions(python: Path | str) -> dict[str, str]:
    """The watched packages' versions in the environment of `python`, read from outside the
    checkout (whose d2lsave/ folder would shadow an installed one)."""
    program = (
        "import importlib.metadata as m, json;"
        f"print(json.dumps({{p: m.version(p) for p in {WATCHED!r}}}))"
    )
    result = subprocess.run(
        [str(python), "-c", program], capture_output=True, text=True, check=True, cwd="/"
    )
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """The made-up class graded as on a fresh clone of a busy machine: no bytecode compiled yet
    (an empty cache folder), one busy loop per core, two students at a time. With what the
    class folder, the teacher's course, two canary files of the teacher's (in the real /tmp and
    HOME) and the environment's packages held before and after."""
    work = tmp_path_factory.mktemp("class")
    submissions, cache, token = work / "submissions", work / "bytecode", uuid.uuid4().hex
    canaries = [Path("/tmp") / f"canary-{token}", Path.home() / f"canary-{token}"]
    loops = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 1)
    ]

    def state() -> dict:
        return {
            "submissions": digest(submissions),
            "teacher": digest(released / "teacher"),
            "canaries": [p.read_text() if p.exists() else None for p in canaries],
            "versions": versions(sys.executable),
        }

    try:
        for path in canaries:
            path.write_text(token)
        write_class(submissions, released / "teacher", canaries)
        before = state()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PYTHONPYCACHEPREFIX", str(cache))  # empty: nothing compiled yet
            patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as on a reader's machine
            rows = assignment.grade(
                submissions,
                released / "teacher",
                work / "grades.csv",
                limits=assignment.Limits(cell=CELL_TIMEOUT),
                jobs=2,
            )
        after = state()
    finally:
        for process in loops:
            process.kill()
            process.wait()
        for path in canaries:
            path.unlink(missing_ok=True)
    sheets = {}
    for row in rows:
        sheets.setdefault(row.student, {})[row.task] = (row.score, row.message)
    return {
        "rows": rows,
        "sheets": sheets,
        "work": work,
        "before": before,
        "after": after,
        "bytecode": cache,
    }


FULL_MARKS = {task.task: task.points for task in assignment.tasks()}


def lost(graded, student: str) -> dict[str, str]:
    """The tasks a student lost points on, with the messages."""
    return {
        task: message
        for task, (score, message) in graded["sheets"][student].items()
        if score < FULL_MARKS[task]
    }


@pytest.mark.kernel
def test_the_reference_answers_score_full_marks_and_the_untouched_release_zero(graded):
    assert graded["sheets"]["reference"] == {task: (p, "") for task, p in FULL_MARKS.items()}
    not_answered = "not answered yet: the answer still raises NotImplementedError"
    assert graded["sheets"]["untouched"] == {task: (0, not_answered) for task in FULL_MARKS}


@pytest.mark.kernel
def test_each_mistake_costs_its_own_task_with_a_message_naming_it(graded):
    mistakes = lost(graded, "mistakes")
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
    """It deletes relative to its folder and by absolute path (the canaries in the real /tmp and
    HOME, the teacher's course, the class folder): all are as they were. What it reaches is its
    own scratch course, so it is not graded, and says so."""
    for what in ("submissions", "teacher", "canaries"):
        assert graded["after"][what] == graded["before"][what], what
    rows = graded["sheets"]["vandal"]
    assert all(score == 0 for score, _ in rows.values())
    assert rows["same-data"][1] == f"{EXERCISES} is not a Jupyter notebook (NotJSONError)"
    assert len({rows[task][1] for task in EXPLORER_TASKS}) == 1
    assert rows["noise"][1].startswith("not graded: ")


@pytest.mark.kernel
def test_a_kernel_that_dies_is_reported_never_a_silent_zero(graded):
    """nbgrader records a score of 0 for every task before it runs a notebook; when the kernel
    dies it stops there. Such a zero is never reported as a score, nor any zero without why."""
    rows = graded["sheets"]["kernel-dies"]
    for task in EXPLORER_TASKS:
        assert rows[task] == (0, "not graded: the kernel died while running the notebook"), task
    assert [row for row in graded["rows"] if row.score < row.max_score and not row.message] == []


@pytest.mark.kernel
def test_the_score_sheet_has_a_row_per_student_and_task_and_feedback(graded):
    with (graded["work"] / "grades.csv").open(newline="") as file:
        lines = list(csv.DictReader(file))
    assert list(lines[0]) == ["student", "notebook", "task", "score", "max_score", "message"]
    assert len(lines) == 6 * len(FULL_MARKS)
    assert [line["student"] for line in lines] == sorted(line["student"] for line in lines)
    row = next(
        line for line in lines if (line["student"], line["task"]) == ("mistakes", "remainder-sizes")
    )
    assert (row["score"], row["max_score"]) == ("0", "2")
    assert row["message"].startswith("AssertionError: 1000 examples in minibatches of 32")
    feedback = graded["work"] / "graded" / "reference"
    assert (feedback / EXERCISES).exists(), "the autograded notebooks are kept for feedback"
    log = (feedback / "nbgrader.log").read_text()
    assert "[AutogradeApp | INFO] Creating/updating student with ID 'reference'" in log


@pytest.mark.kernel
def test_grading_compiled_its_own_bytecode_and_moved_no_package(graded):
    """The fresh-clone condition held (the class compiled torch into the empty cache folder),
    and no setup cell of a graded notebook installed or changed anything."""
    assert any(graded["bytecode"].rglob("torch/__init__*.pyc"))
    assert graded["after"]["versions"] == graded["before"]["versions"]


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.processes
def test_a_student_over_the_time_limit_is_stopped_with_all_it_started(tmp_path, monkeypatch):
    """A kernel that ignores interrupts runs in a session of its own: stop it all the same."""
    started = tmp_path / "grandchild.pid"
    child = f"setsid sleep 600 & echo $! > {started}; sleep 600"  # `setsid`, as a kernel starts

    def fake_nbgrader(course, *args, environment=None, wrap=None):
        return subprocess.Popen(["sh", "-c", child], stdout=subprocess.PIPE, text=True)

    monkeypatch.setattr(assignment, "nbgrader", fake_nbgrader)
    (tmp_path / "scratch").mkdir()
    start = time.perf_counter()
    limits = assignment.Limits(cell=10, student=3)
    outcome, _ = assignment._autograde(tmp_path, tmp_path / "scratch", "someone", limits)
    assert outcome == "stopped after 3 s, the time limit for one student"
    assert time.perf_counter() - start < 10
    try:
        _, alive = psutil.wait_procs([psutil.Process(int(started.read_text()))], timeout=5)
    except psutil.NoSuchProcess:
        alive = []
    assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive), "the student's process runs on"


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
    nbformat.write(solved(EXPLORER), tmp_path / "class" / "ada" / EXPLORER)
    limits = assignment.Limits(startup=startup)
    rows = assignment.grade(
        tmp_path / "class",
        released / "teacher",
        tmp_path / "g.csv",
        only=["noise", "bias"],
        limits=limits,
    )
    assert [(r.task, r.score, r.message) for r in rows] == [
        (task, 0, f"not graded: {reason}") for task in ("noise", "bias")
    ]


# --- where students run it ------------------------------------------------------------------


def run_on_kernel(notebook: nbformat.NotebookNode, folder: Path) -> dict[str, str]:
    """Run `notebook` in the Colab-like kernel; the errors, by grade id."""
    NotebookClient(
        notebook,
        timeout=900,
        kernel_name=colab_smoke.KERNEL,
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return {
        grading(cell).get("grade_id", "?"): output["ename"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    }


@pytest.mark.colab
@pytest.mark.kernel
def test_the_student_notebooks_run_in_a_colab_like_environment(tmp_path, monkeypatch):
    """Colab's own package versions (ipywidgets 7.7.1, IPython 7) and no grader: the solved
    notebooks pass their checks, the untouched ones fail only where answers are missing, and
    the setup cell adds d2l and d2lsave without changing any package that was there."""
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
                assert run_on_kernel(solved(name), Path(scratch)) == {}, name
                failed = run_on_kernel(assignment.student_notebook(md), Path(scratch))
                assert set(failed.values()) <= {"NotImplementedError", "AssertionError"}, failed
                assert not {"setup", "imports", "explorer"} & set(failed), failed
        after = colab_smoke.distributions(venv)
    finally:
        colab_smoke.reset(venv)  # as the book's own Colab-like run leaves it
    assert [n for n, version in before.items() if after.get(n) != version] == []
    assert sorted(set(after) - set(before)) == ["d2l", "d2lsave"]
