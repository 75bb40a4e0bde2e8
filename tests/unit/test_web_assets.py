"""Staging the browser assets: a package upgrade reaches the book whatever the file times."""

from __future__ import annotations

import json
import os

import pytest

from tools import web_assets

NPM_TIME = 499162500  # npm unpacks every file with this mtime: 1985-10-26 08:15 UTC


def test_staging_follows_the_contents_of_node_modules(tmp_path, monkeypatch):
    node_modules, target = tmp_path / "node_modules", tmp_path / "web_assets"
    monkeypatch.setattr(web_assets, "NODE_MODULES", node_modules)
    monkeypatch.setattr(web_assets, "TARGET", target)
    monkeypatch.setattr(web_assets, "check_katex_version", lambda: None)
    monkeypatch.setattr(web_assets, "bundle_widgets", lambda destination: [])  # see test_build
    sources = [
        node_modules / web_assets.KATEX / name for name in ("katex.min.css", "fonts/a.woff2")
    ]

    def release(version: int) -> list[str]:
        for path in sources:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"version {version} of {path.name}")
            os.utime(path, (NPM_TIME, NPM_TIME))
        return [path.read_text() for path in web_assets.stage()]

    assert sorted(release(1)) == ["version 1 of a.woff2", "version 1 of katex.min.css"]
    stylesheet = target / "katex" / "katex.min.css"
    os.utime(stylesheet, (1, 1))
    release(1)
    assert stylesheet.stat().st_mtime == 1  # the same bytes are not copied again
    assert sorted(release(2)) == ["version 2 of a.woff2", "version 2 of katex.min.css"]
    sources[1].unlink()  # a file the upgrade dropped goes, with its folder
    assert web_assets.stage() == [stylesheet]
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
