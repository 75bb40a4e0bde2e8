"""What `make book` puts beside the pages: the browser assets, where a package upgrade arrives
whatever the file times, and the PDF, printed again only when a built page changed."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.conftest import ROOT
from tools import pdf, web_assets

NPM_TIME = 499162500  # npm unpacks every file with this mtime: 1985-10-26 08:15 UTC


def test_staging_follows_the_contents_of_node_modules(tmp_path, monkeypatch):
    node_modules, target = tmp_path / "node_modules", tmp_path / "web_assets"
    monkeypatch.setattr(web_assets, "NODE_MODULES", node_modules)
    monkeypatch.setattr(web_assets, "TARGET", target)
    monkeypatch.setattr(web_assets, "check_katex_version", lambda: None)
    monkeypatch.setattr(web_assets, "bundle_widgets", lambda: None)  # see test_build
    katex = node_modules / web_assets.KATEX
    sources = [katex / "katex.min.css", katex / "fonts/a.woff2", katex / "fonts/a.ttf"]
    for version in (1, 2):
        for path in sources:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"version {version} of {path.name}")
            os.utime(path, (NPM_TIME, NPM_TIME))
        staged = {
            path.relative_to(target).as_posix(): path.read_text() for path in web_assets.stage()
        }
        assert staged == {  # the fonts browsers read, woff2, without the others
            "katex/fonts/a.woff2": f"version {version} of a.woff2",
            "katex/katex.min.css": f"version {version} of katex.min.css",
        }
    sources[1].unlink()  # a file the upgrade dropped goes, with its folder
    assert web_assets.stage() == [target / "katex" / "katex.min.css"]
    assert not (target / "katex" / "fonts").exists()


def test_a_katex_other_than_the_typesetters_stops_the_staging(tmp_path, monkeypatch):
    from sphinxcontrib.katex import katex_version

    package = tmp_path / "package.json"
    package.write_text(json.dumps({"version": "0.0.1"}))
    monkeypatch.setattr(web_assets, "KATEX_PACKAGE", package)
    with pytest.raises(SystemExit, match=f"katex 0.0.1.*KaTeX {katex_version}"):
        web_assets.check_katex_version()
    package.write_text(json.dumps({"version": katex_version}))
    web_assets.check_katex_version()


def test_the_pdf_is_printed_from_a_built_book_only_and_again_when_a_page_changed(tmp_path):
    html, output = tmp_path / "html", tmp_path / "pdf" / "book.pdf"
    page = html / "book" / "page.html"
    page.parent.mkdir(parents=True)
    output.parent.mkdir()
    page.write_text("<p>built</p>")
    assert not pdf.is_current(html, output)  # never printed
    for copy in (output, html / pdf.PUBLISHED_NAME):
        copy.write_bytes(b"%PDF")
    output.with_suffix(".inputs").write_text(pdf.pages_digest(html))
    assert pdf.is_current(html, output)
    page.write_text("<p>built</p>")  # built again, the same: no new PDF
    assert pdf.is_current(html, output)
    page.write_text("<p>built again, changed</p>")
    assert not pdf.is_current(html, output)
    page.write_text("<p>built</p>")
    (html / pdf.PUBLISHED_NAME).unlink()  # the copy the download menus link is gone
    assert not pdf.is_current(html, output)
    with pytest.raises(SystemExit, match=r"html=.* holds no built book: run `make book`"):
        pdf.chapters(tmp_path / "nothing built")


def test_the_explorers_front_end_is_a_valid_module():
    """`node --check` reads it as a module: given as a `.js` file, Node 20 passes a broken one."""
    source = (ROOT / "book" / "explorer.js").read_text()
    check = ["node", "--check", "--input-type=module"]
    result = subprocess.run(check, input=source, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
