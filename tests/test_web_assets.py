"""Staging the browser assets: a package upgrade must reach the book, whatever the file times."""

from __future__ import annotations

import os

import pytest

from tools import web_assets

NPM_TIME = 499162500  # npm unpacks every file with this mtime: 1985-10-26 08:15 UTC


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """A fake node_modules holding one file per asset pattern, and an empty staging folder."""
    node_modules, target = tmp_path / "node_modules", tmp_path / "web_assets"
    for source, patterns in web_assets.ASSETS.values():
        for pattern in patterns:
            name = "nested/part.js" if pattern == "**/*" else pattern.replace("*", "icons")
            path = node_modules / source / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"version 1 of {name}\n")
            os.utime(path, (NPM_TIME, NPM_TIME))
    front_end = tmp_path / "anywidget.js"
    front_end.write_text("front end 1\n")
    monkeypatch.setattr(web_assets, "NODE_MODULES", node_modules)
    monkeypatch.setattr(web_assets, "TARGET", target)
    monkeypatch.setattr(web_assets, "ANYWIDGET_FRONT_END", front_end)
    return node_modules, target


def _sources(node_modules):
    return sorted(path for path in node_modules.rglob("*") if path.is_file())


def test_every_asset_is_staged(folders):
    node_modules, target = folders
    staged = web_assets.stage()
    assert all(path.is_file() and path.is_relative_to(target) for path in staged)
    assert len(staged) == len(_sources(node_modules)) + 2  # the front end and the config
    assert (target / "widgets" / "require" / "require.js").read_text().startswith("version 1")


def test_an_upgrade_with_npm_timestamps_replaces_the_staged_copies(folders):
    node_modules, target = folders
    web_assets.stage()
    for path in _sources(node_modules):  # the upgrade: new bytes, the same 1985 mtime
        path.write_text(path.read_text().replace("version 1", "version 2"))
        os.utime(path, (NPM_TIME, NPM_TIME))
    web_assets.ANYWIDGET_FRONT_END.write_text("front end 2\n")
    staged = web_assets.stage()
    contents = [path.read_text() for path in staged if path.name != "require-config.js"]
    assert len(contents) == len(_sources(node_modules)) + 1
    stale = [text for text in contents if "version 2" not in text and text != "front end 2\n"]
    assert stale == []


def test_unchanged_files_are_left_alone(folders):
    _, target = folders
    web_assets.stage()
    require = target / "widgets" / "require" / "require.js"
    os.utime(require, (1, 1))
    web_assets.stage()
    assert require.stat().st_mtime == 1


def test_a_file_the_upgrade_dropped_is_removed(folders):
    node_modules, target = folders
    web_assets.stage()
    dropped = node_modules / "mathjax" / "es5" / "nested" / "part.js"
    dropped.unlink()
    assert target / "mathjax" / "nested" / "part.js" not in web_assets.stage()
    assert not (target / "mathjax" / "nested" / "part.js").exists()
