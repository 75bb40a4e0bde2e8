"""Regenerate every committed file derived from the pages (`make notebooks`), in the order the
data flows: `d2lsave/` from the `#@save` cells (later pages import it), each framework's notebook
of each page (`book/*.ipynb`), their exports (`notebooks/`) and the assignment's notebooks.
"""

from __future__ import annotations

import sys

from tools import assignment, execute, export, extract_saved
from tools.book import display_path, toc_notebooks
from tools.frameworks import FrameworkError, derived_notebook, page_frameworks

ERRORS = (execute.StaleNotebook, extract_saved.SaveError, FrameworkError, export.ExportError)


def main(run: bool = True, everything: bool = False, exports: bool = True) -> int:
    """Write every derived file whose bytes change, printing a line per file written or executed;
    with `run=False`, a notebook that would have to be executed is an error instead."""
    try:
        report = [f"written: {display_path(path)}" for path in extract_saved.write_package()]
        for page in toc_notebooks():
            for framework in page_frameworks(page):
                what, notebook = execute.refresh(page, everything, framework, execute=run)
                if execute.write(page, notebook, framework) or what == "executed":
                    report.append(f"{what}: {display_path(derived_notebook(page, framework))}")
        if exports:
            report += [f"written: {display_path(p)}" for p, new in export.write_all() if new]
        report += assignment.regenerate(execute=run, everything=everything)
    except ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(report) or "every derived file is up to date")
    return 0
