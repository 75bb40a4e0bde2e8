"""Classroom assignments: the sources, the student release, and grading it locally.

One release and one grading run (module fixtures) serve most tests: a class of six made-up
students, each handing in what a real class hands in (the answers, nothing, a typical mistake,
a hang, a notebook that deletes files), graded together as `make` would grade them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml
from nbclient import NotebookClient

from tests.conftest import ROOT
from tools import assignment, colab_smoke, sandbox
from tools.book_notebooks import toc_notebooks
from tools.notebooks import pairing_problems

SOURCES = assignment.sources()
NAMES = [f"{md.stem}.ipynb" for md in SOURCES]
CELL_TIMEOUT = 30  # long enough for the slowest honest cell on a busy two-core machine
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def first_code_cell(md: Path) -> nbformat.NotebookNode:
    return next(cell for cell in jupytext.read(md).cells if cell.cell_type == "code")


def grading(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


# --- the sources ------------------------------------------------------------------------------


def test_sources_are_the_exercises_and_the_explorer_tasks():
    assert NAMES == ["exercises.ipynb", "explorer-tasks.ipynb"]
    by_notebook = {
        name: [t.task for t in assignment.tasks() if t.notebook == name] for name in NAMES
    }
    assert by_notebook == {
        "exercises.ipynb": [
            "remainder-sizes",
            "remainder-loaders",
            "on-disk",
            "disk-shuffle",
            "on-the-fly",
            "same-data",
        ],
        "explorer-tasks.ipynb": ["noise", "small-n", "batches", "bias"],
    }


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.name)
def test_source_ipynb_is_derived_from_its_md(md):
    assert pairing_problems(md) == []


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.name)
def test_source_starts_with_the_books_hidden_setup_cell(md):
    cell, book = first_code_cell(md), first_code_cell(toc_notebooks()[0])
    assert cell.source == book.source
    assert "hide-cell" in cell.metadata.get("tags", [])
    assert grading(cell)["locked"] is True  # the grader puts it back if a student edits it


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.name)
def test_every_check_follows_an_answer_and_hides_tests(md):
    cells = [cell for cell in jupytext.read(md).cells if cell.cell_type == "code"]
    ids = [grading(cell)["grade_id"] for cell in cells]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    for before, cell in zip(cells, cells[1:], strict=False):
        if grading(cell).get("grade"):
            assert grading(before).get("solution"), f"{grading(cell)['grade_id']} has no answer"
            assert SOLUTION.search(before.source), f"{grading(before)['grade_id']}: no solution"
            assert HIDDEN.search(cell.source), f"{grading(cell)['grade_id']}: no hidden tests"
            assert "assert" in HIDDEN.sub("", cell.source), "no visible self-check"
            assert grading(cell)["points"] > 0


def test_graded_code_uses_the_generated_package():
    text = "\n".join(md.read_text() for md in SOURCES)
    assert "from d2lsave import SyntheticRegressionData" in text
    assert "from d2lsave import RegressionExplorer" in text
    for api in ("explorer.values", "explorer.set(", "explorer.data()", "explorer.fit()"):
        assert api in text


# --- the release ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A student release and teacher's course written from the sources, in a scratch folder."""
    out = tmp_path_factory.mktemp("assignment")
    assignment.release(out, copies=None)
    return out


def released_cells(released: Path) -> dict[str, list[nbformat.NotebookNode]]:
    return {name: nbformat.read(released / "student" / name, as_version=4).cells for name in NAMES}


def test_committed_student_copies_are_the_release(released):
    for name in NAMES:
        committed = assignment.STUDENT_COPIES / name
        assert committed.exists(), f"{committed} is missing: run `make assignment`"
        assert committed.read_bytes() == (released / "student" / name).read_bytes(), (
            f"{committed.name} differs from the release: run `make assignment`"
        )


def test_release_keeps_visible_checks_and_drops_answers_and_hidden_tests(released):
    for name, cells in released_cells(released).items():
        for cell in cells:
            meta = grading(cell)
            assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source
            if meta.get("solution"):
                assert "raise NotImplementedError()" in cell.source, (name, meta["grade_id"])
            if meta.get("grade"):
                assert "assert " in cell.source, (name, meta["grade_id"])
        assert not any("nbgrader" in cell.source for cell in cells), "students need no grader"


def distinctive_lines(md: Path, pattern: re.Pattern) -> set[str]:
    """Lines inside `pattern`'s regions of a source that appear nowhere else in it."""
    text = md.read_text()
    inside = {line.strip() for region in pattern.findall(text) for line in region.splitlines()}
    outside = {line.strip() for line in pattern.sub("", text).splitlines()}
    return {line for line in inside - outside if len(line) >= 12 and not line.startswith("#")}


@pytest.mark.parametrize("pattern", [SOLUTION, HIDDEN], ids=["solutions", "hidden-tests"])
def test_no_solution_or_hidden_test_leaks_into_the_release(released, pattern):
    released_lines = {
        line.strip()
        for cells in released_cells(released).values()
        for cell in cells
        for line in cell.source.splitlines()
    }
    readme = (released / "student" / "README.txt").read_text()
    for md in SOURCES:
        lines = distinctive_lines(md, pattern)
        assert len(lines) >= 10, f"too few distinctive lines in {md.name} to search for"
        leaked = sorted(line for line in lines if line in released_lines or line in readme)
        assert leaked == [], f"{md.name} leaks into the student release: {leaked[:3]}"


def test_release_readme_links_each_notebook_in_colab_and_studio_lab(released):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    github = config["url"].removeprefix("https://github.com/")
    readme = (released / "student" / "README.txt").read_text()
    for name in NAMES:
        path = f"{github}/blob/{config['branch']}/assignments/student/{name}"
        assert f"https://colab.research.google.com/github/{path}" in readme
        assert f"https://studiolab.sagemaker.aws/import/github/{path}" in readme
    assert (released / "teacher" / "gradebook.db").exists()


# --- made-up submissions ----------------------------------------------------------------------


def solved(released: Path, name: str) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled in from the source's solution."""
    notebook = nbformat.read(released / "student" / name, as_version=4)
    source = nbformat.read(released / "teacher" / "source" / assignment.ASSIGNMENT / name, 4)
    answers = {grading(c)["grade_id"]: c.source for c in source.cells if grading(c)}
    for cell in notebook.cells:
        if grading(cell).get("solution"):
            text = answers[grading(cell)["grade_id"]]
            cell.source = re.sub(r"\n? *### (BEGIN|END) SOLUTION", "", text)
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
NOT_REPRODUCIBLE = """\
        word = np.random.SeedSequence([self.seed, k]).generate_state(1, np.uint32)[0]
        generator = torch.Generator().manual_seed(int(word))"""
FROM_TORCH = "from torch import randn\n\n\n"
DELETE_EVERYTHING = """\
import shutil
import tempfile
from pathlib import Path

for folder in [Path.cwd(), Path("../../.."), Path.home(), Path(tempfile.gettempdir())]:
    for item in folder.resolve().iterdir():
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.unlink()
"""
# Absolute paths outside the scratch folder: the teacher's files that the test knows of (filled
# in by `write_class`), canaries found by name in the real /tmp and HOME, and the course folder
# that /proc/self leads to. Nothing is named by a pattern wider than the test's own files.
DELETE_BY_ABSOLUTE_PATH = """\
import glob, os, shutil
from pathlib import Path

targets = [Path(p) for p in {targets!r}]
targets += [Path(p) for p in glob.glob("/tmp/canary-*") + glob.glob({home!r} + "/canary-*")]
here = Path(os.readlink("/proc/self/cwd"))
targets += [folder for folder in here.parents if (folder / "gradebook.db").exists()]
for target in targets:
    try:
        if target.is_dir():
            for child in target.iterdir():
                (shutil.rmtree if child.is_dir() else os.remove)(child)
        else:
            target.write_text("overwritten")
            target.unlink()
    except OSError:
        pass
"""
CRASH = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"


def write_class(released: Path, folder: Path, canaries: list[Path]) -> None:
    """Eight students' hand-ins, as a teacher collects them: one folder per student. Two of
    them try to delete files outside their scratch folder: the `canaries` among them."""
    exercises, explorer = NAMES

    def hand_in(student: str, notebooks: dict[str, nbformat.NotebookNode | str]) -> None:
        (folder / student).mkdir(parents=True)
        for file_name, notebook in notebooks.items():
            text = notebook if isinstance(notebook, str) else nbformat.writes(notebook)
            (folder / student / file_name).write_text(text)

    hand_in("reference", {name: solved(released, name) for name in NAMES})
    hand_in("untouched", {name: nbformat.read(released / "student" / name, 4) for name in NAMES})
    off_by_one = with_answer(
        solved(released, exercises), "sizes-answer", OFF_BY_ONE,
        "    return [batch_size] * (num_examples // batch_size)",
    )  # fmt: skip
    # and a right answer unlike the model's, which must keep its points: randn imported
    with_answer(off_by_one, "disk-answer", "def bytes_in", FROM_TORCH + "def bytes_in")
    with_answer(off_by_one, "disk-answer", "torch.randn(", "randn(")
    hand_in(
        "off-by-one", {exercises: off_by_one, f"Copy of {explorer}": solved(released, explorer)}
    )
    careless_exercises = with_answer(
        solved(released, exercises), "same-answer", NOT_REPRODUCIBLE,
        "        generator = None  # the global random stream",
    )  # fmt: skip
    careless_explorer = with_answer(
        solved(released, explorer), "batches-answer", "num_minibatches = 31", "num_minibatches = 30"
    )
    hand_in("careless", {exercises: careless_exercises, explorer: careless_explorer})
    hang = with_answer(solved(released, exercises), "sizes-answer", OFF_BY_ONE,
                       "    while True:\n        pass")  # fmt: skip
    hand_in("hangs", {exercises: hang})
    vandal = solved(released, explorer)
    with_answer(vandal, "noise-answer", "w1_error = None", DELETE_EVERYTHING + "w1_error = None")
    hand_in("deletes-files", {explorer: vandal, exercises: "this is not a notebook"})
    outside = [*canaries, released / "teacher", folder, folder.parent]
    reaching = with_answer(solved(released, explorer), "noise-answer", "w1_error = None",
                           DELETE_BY_ABSOLUTE_PATH.format(targets=[str(p) for p in outside],
                                                          home=str(Path.home()))
                           + "w1_error = None")  # fmt: skip
    hand_in("absolute-paths", {explorer: reaching})
    crash = with_answer(solved(released, explorer), "noise-answer", "w1_error = None",
                        CRASH + "w1_error = None")  # fmt: skip
    hand_in("kernel-dies", {explorer: crash})


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@contextmanager
def busy_machine():
    """One busy-looping process per core, for as long as the block runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
             for _ in range(os.cpu_count() or 1)]  # fmt: skip
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@contextmanager
def canary_files() -> list[Path]:
    """Files of the teacher's, in the real temporary folder and the real HOME."""
    token = uuid.uuid4().hex
    files = [Path("/tmp") / f"canary-{token}", Path.home() / f"canary-{token}"]
    for path in files:
        path.write_text(token)
    try:
        yield files
    finally:
        for path in files:
            path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def graded(released, tmp_path_factory):
    """The score sheet of the made-up class, with the folders as they were before grading.

    Graded as on a fresh clone of a busy machine: no bytecode compiled yet (an empty cache
    folder), one busy loop per core, and two students at a time, so that the students' kernels
    compete with each other too.
    """
    work = tmp_path_factory.mktemp("class")
    submissions = work / "submissions"
    cache = work / "bytecode"
    with canary_files() as canaries, busy_machine():
        write_class(released, submissions, canaries)
        before = {"submissions": digest(submissions), "teacher": digest(released / "teacher"),
                  "canaries": {str(p): p.read_text() for p in canaries}}  # fmt: skip
        versions_before = versions(sys.executable)
        start = time.perf_counter()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PYTHONPYCACHEPREFIX", str(cache))  # empty: nothing compiled yet
            patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as on a reader's machine
            rows = assignment.grade(
                submissions, released / "teacher", work / "grades.csv",
                limits=assignment.Limits(cell=CELL_TIMEOUT), jobs=2,
            )  # fmt: skip
        seconds = time.perf_counter() - start
        left = {str(p): p.read_text() if p.exists() else None for p in canaries}
        after = {"submissions": digest(submissions), "teacher": digest(released / "teacher"),
                 "canaries": left}  # fmt: skip
    return {"rows": rows, "csv": work / "grades.csv", "before": before, "after": after,
            "seconds": seconds, "work": work, "versions_before": versions_before,
            "versions_after": versions(sys.executable), "bytecode": cache}  # fmt: skip


def sheet(graded, student: str) -> dict[str, tuple[float, str]]:
    return {r.task: (r.score, r.message) for r in graded["rows"] if r.student == student}


EXPLORER_TASKS = ("noise", "small-n", "batches", "bias")


def full_marks() -> dict[str, float]:
    return {task.task: task.points for task in assignment.tasks()}


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_the_reference_solutions_score_full_marks(graded):
    assert sheet(graded, "reference") == {task: (p, "") for task, p in full_marks().items()}


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_the_untouched_release_scores_zero_and_says_why(graded):
    rows = sheet(graded, "untouched")
    assert set(rows) == set(full_marks())
    for task, (score, message) in rows.items():
        assert score == 0, task
        assert message == "not answered yet: the answer still raises NotImplementedError", task


def lost(graded, student: str) -> dict[str, str]:
    """The tasks a student lost points on, with the messages."""
    points = full_marks()
    return {
        task: msg for task, (score, msg) in sheet(graded, student).items() if score < points[task]
    }


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_an_off_by_one_last_batch_costs_that_task_only(graded):
    mistakes = lost(graded, "off-by-one")
    assert list(mistakes) == ["remainder-sizes"]  # its answer to on-disk imports randn
    assert "off by one" in mistakes["remainder-sizes"]
    assert "not 31" in mistakes["remainder-sizes"]
    total = sum(score for score, _ in sheet(graded, "off-by-one").values())
    assert total == sum(full_marks().values()) - 2


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_each_mistake_costs_its_own_task_with_a_message_naming_it(graded):
    mistakes = lost(graded, "careless")
    assert sorted(mistakes) == ["batches", "same-data"]
    assert "not reproducible" in mistakes["same-data"]
    assert "off by one" in mistakes["batches"] and "31 in all" in mistakes["batches"]


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_a_hanging_submission_is_stopped_and_the_rest_is_graded(graded):
    rows = sheet(graded, "hangs")
    assert rows["remainder-sizes"] == (0, f"timed out: the cell was stopped after {CELL_TIMEOUT} s")
    exercises = [t for t in assignment.tasks() if t.notebook == NAMES[0]]
    for task in exercises[1:]:
        assert rows[task.task] == (task.points, ""), task.task
    assert all(msg == f"{NAMES[1]} was not handed in" for t, (s, msg) in rows.items()
               if t in ("noise", "small-n", "batches", "bias"))  # fmt: skip


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_a_submission_that_deletes_files_harms_only_its_own_scratch_copy(graded):
    assert graded["after"] == graded["before"]  # the hand-ins, the course and the canaries
    rows = sheet(graded, "deletes-files")
    assert all(score == 0 for score, _ in rows.values())
    assert rows["same-data"][1] == "exercises.ipynb is not a Jupyter notebook (NotJSONError)"
    assert rows["noise"][1].startswith("not graded: ")
    students = {row.student for row in graded["rows"]}
    assert students == {"reference", "untouched", "off-by-one", "careless", "hangs",
                        "deletes-files", "absolute-paths", "kernel-dies"}  # fmt: skip


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_absolute_paths_outside_the_scratch_folder_are_out_of_reach(graded):
    """The hand-in names the canaries in the real /tmp and HOME, the teacher's course and the
    class folder by absolute path; they are all as they were (`after` == `before`). What it
    reaches is its own scratch course, so it is not graded, and says so."""
    assert graded["after"]["canaries"] == graded["before"]["canaries"]
    assert graded["after"]["teacher"] == graded["before"]["teacher"]
    rows = sheet(graded, "absolute-paths")
    assert {msg for task, (score, msg) in rows.items() if task in EXPLORER_TASKS} == {
        rows["noise"][1]
    }
    assert rows["noise"][0] == 0 and rows["noise"][1].startswith("not graded: ")


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_a_kernel_that_dies_is_reported_never_a_silent_zero(graded):
    """nbgrader records a score of 0 for every task before it runs a notebook; when the kernel
    dies it stops there. Such a zero is never reported as a score."""
    rows = sheet(graded, "kernel-dies")
    for task in EXPLORER_TASKS:
        assert rows[task] == (0, "not graded: the kernel died while running the notebook"), task


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_no_row_of_the_class_is_a_zero_without_a_reason(graded):
    assert [row for row in graded["rows"] if row.score < row.max_score and not row.message] == []


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_grading_ran_without_compiled_bytecode_and_kept_the_log(graded):
    """The fresh-clone condition held: the class compiled its own bytecode, into the empty
    cache folder; each student's nbgrader log is kept beside the feedback."""
    assert any(graded["bytecode"].rglob("torch/__init__*.pyc"))
    log = graded["work"] / "graded" / "reference" / "nbgrader.log"
    assert "[AutogradeApp | INFO] Creating/updating student with ID 'reference'" in log.read_text()


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_the_score_sheet_has_a_row_per_student_and_task(graded):
    lines = assignment.read_csv(graded["csv"])
    assert list(lines[0]) == ["student", "notebook", "task", "score", "max_score", "message"]
    assert len(lines) == 8 * len(assignment.tasks())
    students = [line["student"] for line in lines]
    assert students == sorted(students)  # in student order, whatever order they finished in
    off_by_one = next(line for line in lines if line["task"] == "remainder-sizes"
                      and line["student"] == "off-by-one")  # fmt: skip
    assert (off_by_one["score"], off_by_one["max_score"]) == ("0", "2")
    assert off_by_one["message"].startswith("AssertionError: 1000 examples in minibatches of 32")
    feedback = graded["work"] / "graded" / "reference" / "exercises.ipynb"
    assert feedback.exists(), "the autograded notebooks are kept for feedback"


# --- limits and bad input -----------------------------------------------------------------------


@pytest.mark.processes
def test_a_student_over_the_time_limit_is_stopped_with_everything_it_started(tmp_path, monkeypatch):
    """A kernel that ignores interrupts runs in a session of its own: stop it all the same."""
    started = tmp_path / "grandchild.pid"
    # a shell starts at once even on a busy machine; `setsid` starts a session, as a kernel does
    child = f"setsid sleep 600 & echo $! > {started}; sleep 600"

    def fake_nbgrader(course, *args, environment=None, wrap=None):
        return subprocess.Popen(["sh", "-c", child], stdout=subprocess.PIPE, text=True)

    monkeypatch.setattr(assignment, "nbgrader", fake_nbgrader)
    (tmp_path / "scratch").mkdir()
    start = time.perf_counter()
    limits = assignment.Limits(cell=10, student=3)
    outcome, _ = assignment._autograde(tmp_path, tmp_path / "scratch", "someone", limits)
    assert outcome == "stopped after 3 s, the time limit for one student"
    assert time.perf_counter() - start < 10
    grandchild = Path(f"/proc/{int(started.read_text())}/stat")
    assert gone(grandchild), "the process the student's run started is still running"


def gone(stat: Path, seconds: float = 5) -> bool:
    """Whether a process (its /proc stat file) ends, or is a zombie, within `seconds`:
    SIGKILL is delivered asynchronously."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.05)
    return False


def test_bad_input_is_named_with_what_is_accepted(tmp_path, released):
    bundle = released / "teacher"
    with pytest.raises(
        assignment.AssignmentError, match=r"submissions='.*nowhere' is not a folder"
    ):
        assignment.grade(tmp_path / "nowhere", bundle, tmp_path / "g.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(assignment.AssignmentError, match="holds no student folder"):
        assignment.grade(tmp_path / "empty", bundle, tmp_path / "g.csv")
    (tmp_path / "class" / "ada").mkdir(parents=True)
    with pytest.raises(assignment.AssignmentError, match="task=nonsense is not a task.*same-data"):
        assignment.grade(tmp_path / "class", bundle, tmp_path / "g.csv", only=["nonsense"])
    with pytest.raises(assignment.AssignmentError, match=r"bundle='.*' is not a teacher's course"):
        assignment.grade(tmp_path / "class", tmp_path, tmp_path / "g.csv")
    result = subprocess.run(
        [sys.executable, "-m", "tools.assignment", "grade", str(tmp_path / "nowhere")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_a_missing_or_broken_notebook_is_reported_not_run(tmp_path, released):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "notes.txt").write_text("no notebook here")
    (tmp_path / "class" / "bad id!").mkdir()
    rows = assignment.grade(
        tmp_path / "class", released / "teacher", tmp_path / "g.csv", only=["batches"]
    )
    assert [(r.student, r.score, r.message) for r in rows] == [
        ("ada", 0, "explorer-tasks.ipynb was not handed in"),
        ("bad id!", 0, "folder name 'bad id!' is not a usable student id (letters, digits, _.@+-)"),
    ]


@pytest.mark.kernel  # starts nbgrader, whose kernel fails to start
@pytest.mark.parametrize(
    ("kernel", "startup", "reason"),
    [("raise SystemExit(1)", 120, "the kernel exited as it started"),
     ("import time; time.sleep(600)", 5, "the kernel did not start within 5 s")],
    ids=["exits", "never-answers"],
)  # fmt: skip
def test_a_kernel_that_does_not_start_is_reported(
    kernel, startup, reason, tmp_path, released, monkeypatch
):
    """A broken environment's kernel: every task of the notebook says so, none scores."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-c", kernel, "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3",
                                                  "language": "python"}))  # fmt: skip
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    readable = sandbox.readable_paths()
    monkeypatch.setattr(sandbox, "readable_paths", lambda: [*readable, tmp_path / "jupyter"])
    (tmp_path / "class" / "ada").mkdir(parents=True)
    nbformat.write(solved(released, NAMES[1]), tmp_path / "class" / "ada" / NAMES[1])
    limits = assignment.Limits(startup=startup)
    rows = assignment.grade(tmp_path / "class", released / "teacher", tmp_path / "g.csv",
                            only=["noise", "bias"], limits=limits)  # fmt: skip
    assert [(r.task, r.score, r.message) for r in rows] == [
        (task, 0, f"not graded: {reason}") for task in ("noise", "bias")
    ]


# --- where students run it ----------------------------------------------------------------------

WATCHED = ["ipywidgets", "torch", "numpy"]  # what a student's setup cell must never move
VERSIONS = (
    "import importlib.metadata as m, json;"
    f"print(json.dumps({{p: m.version(p) for p in {WATCHED!r}}}))"
)


def versions(python: Path | str) -> dict[str, str]:
    """The watched packages' versions in the environment of `python`, read from outside the
    checkout (whose d2lsave/ folder would shadow an installed one)."""
    result = subprocess.run(
        [str(python), "-c", VERSIONS], capture_output=True, text=True, check=True, cwd="/"
    )
    return json.loads(result.stdout)


@pytest.mark.kernel  # grades the made-up class: nbgrader runs every notebook
def test_grading_every_setup_cell_moved_no_package(graded):
    """Each graded notebook ran the setup cell; none of them installed or changed anything."""
    assert graded["versions_after"] == graded["versions_before"]


def run_on_kernel(notebook: nbformat.NotebookNode, kernel: str, folder: Path) -> None:
    NotebookClient(
        notebook, timeout=900, kernel_name=kernel, allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    ).execute()  # fmt: skip


def errors_by_cell(notebook: nbformat.NotebookNode) -> dict[str, str]:
    return {
        grading(cell).get("grade_id", "?"): output["ename"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    }


@pytest.mark.colab
@pytest.mark.kernel
def test_the_student_release_runs_in_a_colab_like_environment(released, tmp_path, monkeypatch):
    """Colab's own package versions (ipywidgets 7.7.1, IPython 7) and no grader: the solved
    release passes its checks, the untouched one fails only where answers are missing, and
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
            for name in NAMES:
                answered = solved(released, name)
                run_on_kernel(answered, colab_smoke.KERNEL, Path(scratch))
                assert errors_by_cell(answered) == {}, name
                untouched = nbformat.read(released / "student" / name, as_version=4)
                run_on_kernel(untouched, colab_smoke.KERNEL, Path(scratch))
                failed = errors_by_cell(untouched)
                assert set(failed.values()) <= {"NotImplementedError", "AssertionError"}, failed
                assert not {"setup", "imports", "explorer"} & set(failed), failed
        after = colab_smoke.distributions(venv)
    finally:
        colab_smoke.reset(venv)  # as the book's own Colab-like run leaves it
    assert [n for n, version in before.items() if after.get(n) != version] == []
    assert sorted(set(after) - set(before)) == ["d2l", "d2lsave"]
