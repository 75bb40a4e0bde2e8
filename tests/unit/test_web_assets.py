"""Staging the browser assets: a package upgrade must reach the book, whatever the file times,
and the widget bundle holds what the pages' widgets need."""

from __future__ import annotations

import json
import os

import pytest

from tools import web_assets

NPM_TIME = 499162500  # npm unpacks every file with this mtime: 1985-10-26 08:15 UTC


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A fake node_modules holding one file per asset pattern, and an empty staging folder.

    The widget bundle, which esbuild builds from the real node_modules, is tested on its own.
    """
    node_modules, target = tmp_path / "node_modules", tmp_path / "web_assets"
    for source, patterns in web_assets.ASSETS.values():
        for pattern in patterns:
            path = node_modules / source / pattern.replace("*", "font")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"version 1 of {pattern}\n")
            os.utime(path, (NPM_TIME, NPM_TIME))
    monkeypatch.setattr(web_assets, "NODE_MODULES", node_modules)
    monkeypatch.setattr(web_assets, "TARGET", target)
    monkeypatch.setattr(web_assets, "check_katex_version", lambda: None)
    monkeypatch.setattr(web_assets, "bundle_widgets", lambda destination: [])
    return node_modules, target


def _sources(node_modules):
    return sorted(path for path in node_modules.rglob("*") if path.is_file())


def test_every_asset_is_staged(folders):
    node_modules, target = folders
    staged = web_assets.stage()
    assert all(path.is_file() and path.is_relative_to(target) for path in staged)
    assert len(staged) == len(_sources(node_modules))
    assert (target / "katex" / "katex.min.css").read_text().startswith("version 1")


def test_an_upgrade_with_npm_timestamps_replaces_the_staged_copies(folders):
    node_modules, _ = folders
    web_assets.stage()
    for path in _sources(node_modules):  # the upgrade: new bytes, the same 1985 mtime
        path.write_text(path.read_text().replace("version 1", "version 2"))
        os.utime(path, (NPM_TIME, NPM_TIME))
    contents = [path.read_text() for path in web_assets.stage()]
    assert contents and all("version 2" in text for text in contents)


def test_unchanged_files_are_left_alone(folders):
    _, target = folders
    web_assets.stage()
    stylesheet = target / "katex" / "katex.min.css"
    os.utime(stylesheet, (1, 1))
    web_assets.stage()
    assert stylesheet.stat().st_mtime == 1


def test_a_file_the_upgrade_dropped_is_removed_with_its_folder(folders):
    node_modules, target = folders
    web_assets.stage()
    for font in (node_modules / "katex" / "dist" / "fonts").iterdir():
        font.unlink()
    assert not any(path.suffix == ".woff2" for path in web_assets.stage())
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


@pytest.mark.skipif(not web_assets.ESBUILD.exists(), reason="npm ci has not run")
def test_the_widget_bundle_holds_the_controls_and_anywidget_and_no_html_sanitizer(tmp_path):
    built = {path.name: path for path in web_assets.bundle_widgets(tmp_path)}
    assert sorted(built) == ["manager.css", "manager.js", "preview.js"]
    manager = built["manager.js"].read_text()
    for model in ("FloatSliderModel", "IntSliderModel", "GridBoxModel", "LinkModel"):
        assert model in manager, model
    assert "[anywidget]" in manager  # the front end's own messages
    assert "sanitize-html" not in manager and "htmlparser2" not in manager
    assert ".widget-slider" in built["manager.css"].read_text()
    # the preview bundles nothing: it reads the stored state and runs the anywidget's own code
    preview = built["preview.js"].read_text()
    assert "widget-preview" in preview
    assert "FloatSliderModel" not in preview and "jQuery" not in preview
