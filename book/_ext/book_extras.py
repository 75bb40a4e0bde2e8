"""Small Sphinx fixes and additions for this book, loaded through `_config.yml`."""

from __future__ import annotations

import copy
import filecmp
import hashlib
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective

from d2lsetup import FRAMEWORKS as DECLARED


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Keep one copy of each script tag.

    sphinx-thebe registers its inline configuration twice under Jupyter Book, and the second
    `const THEBE_JS_URL` declaration is a JavaScript error on every page.
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", script) or "", attributes.get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx renders this very list


STUDIO_LAB = "https://studiolab.sagemaker.aws/import/github/"
COLAB_GITHUB = "/github/"


def add_studio_lab_button(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Add SageMaker Studio Lab to the launch menu, next to Colab.

    Studio Lab imports a notebook from the same GitHub path that Colab opens, so its link is
    derived from the Colab link the theme has just built for the page's `.ipynb`.
    """
    for button in context.get("header_buttons", []):
        if button.get("label") != "launch-buttons":
            continue
        entries = button.get("buttons", [])
        for entry in list(entries):
            url = entry.get("url", "")
            if entry.get("text") == "Colab" and COLAB_GITHUB in url:
                entries.append(
                    {
                        "type": "link",
                        "text": "Studio Lab",
                        "tooltip": "Launch on SageMaker Studio Lab",
                        "icon": "fas fa-flask",
                        "url": STUDIO_LAB + url.split(COLAB_GITHUB, 1)[1],
                        "label": "launch-studio-lab-button",
                    }
                )


EXPORTED_NOTEBOOKS = "notebooks"  # tools/export.py writes notebooks/<page>.ipynb


def launch_exported_notebook(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Point the launch menu at the page's exported notebook, `notebooks/<page>.ipynb`.

    The theme links every service to the `.ipynb` paired with the page's source, whose Markdown
    is MyST; the export is the same notebook with plain Markdown, which Colab, Studio Lab and
    Binder render as the book does. The download menu's `.ipynb` becomes the export too.
    A page without an export keeps the theme's links.
    """
    paired = f"{pagename}.ipynb"
    exported = f"{EXPORTED_NOTEBOOKS}/{Path(pagename).name}.ipynb"
    if not (Path(app.confdir) / exported).is_file():
        return
    sources = Path(app.outdir) / "_sources"
    download = sources / paired  # the download menu's .ipynb
    # each of the page's notebooks (one per framework) is offered for download;
    # book/_js/frameworks.js points the menus at the reader's framework
    for notebook in (Path(app.confdir) / EXPORTED_NOTEBOOKS).glob(f"{Path(pagename).name}*.ipynb"):
        target = download.with_name(notebook.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(notebook, target)
    for button in context.get("header_buttons", []):
        for entry in button.get("buttons", []):
            url = entry.get("url", "")
            if button.get("label") == "launch-buttons":
                # the theme links a merged page's launch buttons to <page>.json
                for suffix in (".ipynb", ".json"):
                    if url.endswith(f"/{pagename}{suffix}"):
                        entry["url"] = url.removesuffix(f"{pagename}{suffix}") + exported
            elif entry.get("label") == "download-source-button":
                entry["url"] = url.removesuffix(context["sourcename"]) + paired
                entry["text"] = ".ipynb"
                entry["tooltip"] = "Download the notebook of this page"


BOOK_PDF = "book.pdf"  # `make pdf` (tools/pdf.py) puts it beside index.html


def add_book_pdf_link(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Offer the whole book as one PDF in every page's download menu.

    `make pdf` prints the built book and copies `book.pdf` beside `index.html`; the link is
    relative, so it works from disk and from any web server alike.
    """
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button.setdefault("buttons", []).append(
                {
                    "type": "link",
                    "text": "Book (.pdf)",
                    "tooltip": "Download the whole book as one PDF",
                    "icon": "fas fa-book",
                    "url": context["pathto"](BOOK_PDF, 1),
                    "label": "download-book-pdf-button",
                }
            )


def exclude_notebook_pages(app: Sphinx, config: Any) -> None:
    """Leave out the `.md` of every notebook page (a page with a jupytext header): the book
    renders `<page>.tabs.json` instead, which tools/render.py writes from the executed
    notebooks, and a page without it is not built, rather than built without its outputs."""
    for page in sorted(Path(app.confdir).glob("book/*.md")):
        head = page.read_text().split("\n---", 1)[0]
        if head.startswith("---") and "jupytext:" in head:
            config.exclude_patterns.append(page.relative_to(app.confdir).as_posix())


def refresh_static_files(app: Sphinx, exception: Exception | None) -> None:
    """Copy changed static files even when no page is out of date.

    Sphinx copies `html_static_path` only while writing pages, so a rebuild after a change to
    the staged browser code alone would keep serving the old files.
    """
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static"
    for folder in app.config.html_static_path:
        source = Path(app.confdir) / folder
        for path in source.rglob("*") if source.is_dir() else []:
            copy = target / path.relative_to(source)
            if path.is_file() and not (copy.exists() and filecmp.cmp(path, copy, shallow=False)):
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)


def visit_hidden_cell(self: Any, node: Any) -> None:
    """Open a hidden code cell's toggle as myst-nb does, but named by the text it shows.

    myst-nb names every such toggle "Toggle hidden content" while it shows "Show code cell
    source": a name that leaves out the visible text fails WCAG 2.5.3 (Label in Name).
    """
    from myst_nb.sphinx_ import visit_HideCellInput

    start = len(self.body)
    visit_HideCellInput(self, node)
    self.body[start:] = [
        part.replace('<summary aria-label="Toggle hidden content">', "<summary>")
        for part in self.body[start:]
    ]


TITLES = {name: framework.title for name, framework in DECLARED.items()}
FRAMEWORKS = tuple(TITLES)


def _switch_markup() -> str:
    """What every page needs for the framework switch, from the one declaration: the
    frameworks for book/_js/frameworks.js, and the rules that hide every framework's content
    but the reader's (the default's, without JavaScript)."""
    default = FRAMEWORKS[0]
    rules = [
        f'html[data-framework="{name}"] :is({", ".join(f".tag_fw-{o}" for o in others)}),\n'
        f'html[data-framework="{name}"] .fw-only:not(.fw-{name})'
        for name in FRAMEWORKS
        for others in [[other for other in FRAMEWORKS if other != name]]
    ]
    rules.append(
        f"html:not([data-framework]) :is({', '.join(f'.tag_fw-{o}' for o in FRAMEWORKS[1:])}),\n"
        f"html:not([data-framework]) .fw-only:not(.fw-{default})"
    )
    titles = json.dumps([[name, title] for name, title in TITLES.items()])
    hidden = ",\n".join(rules)
    return (
        f"\n<script>window.BOOK_FRAMEWORKS = {titles};</script>"
        f"\n<style>{hidden} {{ display: none !important; }}</style>\n"
    )


SWITCH_MARKUP = _switch_markup()


def framework_switch_data(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Put the framework switch's data and hiding rules in the page's head."""
    context["metatags"] = context.get("metatags", "") + SWITCH_MARKUP


class FrameworkDirective(SphinxDirective):
    """Prose for the readers of some frameworks only: ```{framework} jax, tensorflow```.

    The content is shown when the reader's framework is one of those named
    (book/_js/frameworks.js); tools/frameworks.py keeps it in, or out of, each framework's
    notebook.
    """

    required_arguments = 1
    final_argument_whitespace = True
    has_content = True

    def run(self) -> list[nodes.Node]:
        names = [name.strip() for name in self.arguments[0].split(",") if name.strip()]
        unknown = [name for name in names if name not in FRAMEWORKS]
        if unknown:
            raise self.error(
                f"framework: {', '.join(unknown)!r} is not one of {', '.join(FRAMEWORKS)}"
            )
        container = nodes.container(classes=["fw-only", *(f"fw-{name}" for name in names)])
        self.state.nested_parse(self.content, self.content_offset, container)
        return [container]


class StoredNotebooks(SphinxDirective):
    """A table of the notebooks beside the page, which the book renders: each one's page,
    framework, kernel, Python and inputs digest (tools/execute.py), from its metadata."""

    def run(self) -> list[nodes.Node]:
        rows = ["| Page | Framework | Kernel | Python | Inputs digest |", "|---|---|---|---|---|"]
        folder = Path(self.env.doc2path(self.env.docname)).parent
        named = [(*p.stem.partition(".")[::2], p) for p in folder.glob("*.ipynb")]
        named = [(page, framework or FRAMEWORKS[0], path) for page, framework, path in named]
        for page, framework, path in sorted(named, key=lambda n: (n[0], FRAMEWORKS.index(n[1]))):
            self.env.note_dependency(str(path))
            metadata = json.loads(path.read_text())["metadata"]
            digest = metadata.get("executed_inputs", "never executed")[:12]
            rows.append(
                f"| {{doc}}`{page}` | {TITLES[framework]} | "
                f"{metadata['kernelspec']['display_name']} | "
                f"{metadata.get('language_info', {}).get('version', '')} | `{digest}` |"
            )
        return self.parse_text_to_nodes("\n".join(rows))


RAW_NUMBERS = "book_raw_fignumbers"  # the figure numbers as Sphinx assigned them


def restore_figure_numbers(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Give Sphinx back the numbers it assigned last time, before it numbers the figures."""
    if hasattr(env, RAW_NUMBERS):
        env.toc_fignumbers = copy.deepcopy(getattr(env, RAW_NUMBERS))
    return []


def share_figure_numbers(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """Give the copies of a figure, one per framework, the number of the figure.

    A page written in four frameworks holds each figure four times, as `name`, `name-jax`,
    `name-tensorflow` and `name-mxnet`; Sphinx would number them 1 to 4. The reader sees one
    of them, and the prose refers to it, so they share one number, and figures count on
    across the book, in reading order (the order of `env.toc_fignumbers`).
    """
    # Sphinx compares its fresh numbers with the stored ones to find the pages to write again:
    # it must find its own numbers there (restore_figure_numbers), or it writes them every time
    setattr(env, RAW_NUMBERS, copy.deepcopy(env.toc_fignumbers))
    suffixes = tuple(f"-{name}" for name in FRAMEWORKS[1:])
    counters: dict[tuple, int] = {}  # (kind, section number) -> the last number given
    for numbers in env.toc_fignumbers.values():
        for kind, figures in numbers.items():
            shared: dict[str, tuple[int, ...]] = {}
            for key, number in sorted(figures.items(), key=lambda item: item[1]):
                base = next((key.removesuffix(s) for s in suffixes if key.endswith(s)), key)
                if base not in shared:
                    counters[kind, number[:-1]] = counters.get((kind, number[:-1]), 0) + 1
                    shared[base] = (*number[:-1], counters[kind, number[:-1]])
                figures[key] = shared[base]
    return []


def start_katex_server(cls: type, rundir: Path, timeout: float) -> tuple[Any, socket.socket]:
    """Start sphinxcontrib-katex's render server and connect to it, patiently.

    The library waits 5 s for the server's socket file and then connects once: on a busy
    machine the file can exist before the server listens (ConnectionRefusedError), or the
    server can take longer to start, and either fails the whole build and leaves the node
    process running. Here the connection is tried until the server accepts it, for up to
    KATEX_STARTUP seconds, and a server that never does is stopped.
    """
    socket_path = rundir / "katex.sock"
    command = cls.build_command(socket=socket_path)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=rundir)
    deadline = time.monotonic() + max(timeout, KATEX_STARTUP)
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(socket_path))
            return process, sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise cls.timeout_error(KATEX_STARTUP) from None
            time.sleep(0.01)


KATEX_STARTUP = 300.0  # seconds: a slow start is no reason for a failed build


def patient_katex(app: Sphinx, config: Any) -> None:
    """Start KaTeX's render server with `start_katex_server` (sphinxcontrib-katex 0.9.11)."""
    from sphinxcontrib.katex import KaTeXServer

    KaTeXServer.start_server_process = classmethod(start_katex_server)


def reread_when_changed(app: Sphinx, env: BuildEnvironment, *changes: set[str]) -> list[str]:
    """Every page, when this extension changed since the last build: Sphinx reads again only
    the pages whose sources changed, and what this module does to them would go stale."""
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    if getattr(env, "book_extras_source", None) == source:
        return []
    env.book_extras_source = source
    return sorted(env.found_docs)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("env-get-outdated", reread_when_changed)
    app.connect("config-inited", exclude_notebook_pages)
    app.connect("config-inited", patient_katex)
    app.add_directive("framework", FrameworkDirective)
    app.add_directive("stored-notebooks", StoredNotebooks)
    # after Sphinx's own numbering, which runs on the same event at the default priority
    app.connect("env-get-updated", restore_figure_numbers, priority=100)
    app.connect("env-get-updated", share_figure_numbers, priority=900)
    from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

    # myst-nb's toggles of hidden cells, named by the text they show (see visit_hidden_cell)
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_HideCellInput))
    # Sphinx calls every html-page-context handler, in priority order; only the template name
    # is taken from the first one that returns a value. sphinx-thebe registers its scripts
    # before any page is written (env-before-read-docs), so the default priority sees them.
    app.connect("html-page-context", drop_duplicate_scripts)
    # After the theme's own launch buttons (priority 501).
    app.connect("html-page-context", add_studio_lab_button, priority=502)
    # After the Studio Lab entry, so that it is redirected too.
    app.connect("html-page-context", launch_exported_notebook, priority=503)
    app.connect("html-page-context", add_book_pdf_link, priority=503)
    app.connect("html-page-context", framework_switch_data)
    app.connect("build-finished", refresh_static_files)
    # Font Awesome's fonts, cut down to the book's icons (book/_ext/icon_fonts.py)
    app.setup_extension("icon_fonts")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
