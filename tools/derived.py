"""Regenerate every committed file derived from the pages (`make notebooks`), in the order the
data flows: `d2lsave/` from the `#@save` cells (later pages import it), each framework's notebook
of each page (`book/*.ipynb`, executed again only when its code, kernel or d2lsave changed),
their exports (`notebooks/`, from Sphinx's reading of the book) and the assignment's notebooks.
Each file is written only when its bytes change; the drift test runs this with `run=False`
and `exports=False` in a copy of the checkout and fails on any difference.
"""

from __future__ import annotations

import sys

from tools import assignment, execute, export, extract_saved
from tools.book import display_path, toc_notebooks
from tools.export import ExportError
from tools.frameworks import FrameworkError, derived_notebook, page_frameworks


def regenerate(run: bool = True, everything: bool = False, exports: bool = True) -> list[str]:
    """Write every derived file that changes; one report line per file written or executed.
    With `run=False`, a notebook that would have to be executed is an error instead."""
    package = extract_saved.write_package(extract_saved.build_package())
    report = [f"written: {display_path(path)}" for path in package]
    for page in toc_notebooks():
        for framework in page_frameworks(page):
            what, notebook = execute.refresh(page, everything, framework, execute=run)
            if execute.write(page, notebook, framework) or what == "executed":
                report.append(f"{what}: {display_path(derived_notebook(page, framework))}")
    if exports:
        report += [f"written: {display_path(p)}" for p, changed in export.write_all() if changed]
    return report + assignment.regenerate(execute=run, everything=everything)


def main(run: bool = True, everything: bool = False, exports: bool = True) -> int:
    try:
        report = regenerate(run, everything, exports)
    except (execute.StaleNotebook, extract_saved.SaveError, FrameworkError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(report) or "every derived file is up to date")
    return 0
