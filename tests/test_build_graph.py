"""The book follows d2lsave by content digests: a page that imports it is stale when the
package changed, though its own cells did not. `make book` then stops, naming the page and
`make notebooks`, which executes exactly the stale notebooks. These tests run the real `make`
in a copy of the repository (the shared `.venv` and `node_modules` are linked, never installed
into).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ENVIRONMENTS_AS_MADE, ROOT, outside_make

pytestmark = pytest.mark.build

PROBE_PAGE = "book/build-graph-probe.md"  # a small page of the copy that saves a function
USING_PAGE = "book/exercises.md"  # a page of the book that imports d2lsave
PROBE = """
# A Saved Probe

```{{code-cell}} ipython3
#@save
def build_graph_probe():
    \"\"\"A value a later page prints.\"\"\"
    return "{value}"
```
"""
USING_CELL = """
```{code-cell} ipython3
from d2lsave import build_graph_probe

print("probe says", build_graph_probe())
```
"""


def copy_repository(target: Path) -> Path:
    """The working tree as git sees it (tracked and new files), with the environment linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    for shared in (".venv", ".venv-mxnet", "node_modules"):
        (target / shared).symlink_to(ROOT / shared)
    return target


def make(repository: Path, target: str, succeeds: bool = True) -> subprocess.CompletedProcess:
    """`make target` in the copy. The environment and npm stamps are taken as up to date,
    PYTHONPATH makes the copy's d2lsave win over the editable install of the shared one, and
    the PDF is not printed: what these tests follow ends at the HTML pages."""
    result = subprocess.run(
        ["make", *ENVIRONMENTS_AS_MADE, target, "PDF=no"],
        cwd=repository,
        env=outside_make(PYTHONPATH=str(repository)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 0) is succeeds, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def executed_pages(result: subprocess.CompletedProcess) -> set[str]:
    """The pages `make notebooks` executed, from its log (one notebook per framework)."""
    return set(re.findall(r"^executed: (book/[\w-]+?)(?:\.\w+)?\.ipynb", result.stdout, re.M))


def front_matter(page: Path) -> str:
    """A page's jupytext header, so the probe page is a notebook just as the book's pages are."""
    text = page.read_text()
    return text[: text.index("\n---", 3) + len("\n---\n")]


def write_probe(repository: Path, value: str) -> None:
    """The probe page, saving a function that returns `value`."""
    header = front_matter(repository / USING_PAGE)
    (repository / PROBE_PAGE).write_text(header + PROBE.format(value=value))


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """A copy with a probe page before the exercises, whose last cell prints the probe."""
    copy = copy_repository(tmp_path_factory.mktemp("repository"))
    toc = copy / "_toc.yml"
    listed = toc.read_text().replace(
        f"  - file: {USING_PAGE[:-3]}\n",
        f"  - file: {PROBE_PAGE[:-3]}\n  - file: {USING_PAGE[:-3]}\n",
    )
    assert PROBE_PAGE[:-3] in listed
    toc.write_text(listed)
    write_probe(copy, "first")
    using = copy / USING_PAGE
    using.write_text(using.read_text() + USING_CELL)
    return copy


def test_a_changed_saved_function_reaches_the_page_that_imports_it(repository):
    make(repository, "book", succeeds=False)  # the probe page was never executed
    make(repository, "notebooks")
    make(repository, "book")
    html = repository / "_build" / "html" / "book" / "exercises.html"
    assert "probe says first" in html.read_text()

    write_probe(repository, "second")
    make(repository, "lib")
    assert 'return "second"' in (repository / "d2lsave" / "build_graph_probe.py").read_text()
    stopped = make(repository, "book", succeeds=False)
    # the probe page, and the pages that import d2lsave, are named with the command that
    # executes them again; nothing is rendered
    for page in (PROBE_PAGE, USING_PAGE, "book/explorer.md"):
        stale = rf"^{re.escape(page)} changed since .*: run `make notebooks`$"
        assert re.search(stale, stopped.stderr, re.M), stopped.stderr
    assert "synthetic-regression-data.md" not in stopped.stderr  # it does not import d2lsave
    assert "jupyter-book build" not in stopped.stdout and "probe says first" in html.read_text()

    result = make(repository, "notebooks")
    # every page that imports d2lsave ran again, and the chapter, which does not, did not
    assert executed_pages(result) == {PROBE_PAGE[:-3], "book/exercises", "book/explorer"}
    make(repository, "book")
    assert "probe says second" in html.read_text()


def test_nothing_changed_nothing_is_executed_or_written(repository):
    result = make(repository, "notebooks")
    assert executed_pages(result) == set()
    assert "wrote d2lsave" not in result.stdout  # d2lsave was already made from these pages
    result = make(repository, "book")
    assert "written: " not in result.stdout and "no targets are out of date" in result.stdout


def test_a_removed_merged_page_is_merged_again(repository):
    merged = repository / "book" / "synthetic-regression-data.tabs.json"
    merged.unlink()
    result = make(repository, "book")
    assert "written: book/synthetic-regression-data.tabs.json" in result.stdout
    assert (repository / "_build" / "html" / "book" / "synthetic-regression-data.html").is_file()
