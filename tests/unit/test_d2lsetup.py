"""The installer each notebook's first cell runs: only what is missing, nothing installed moves."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import d2lsetup


def install(monkeypatch, framework: str, installed: dict[str, str]) -> list[tuple[list, str]]:
    """Run `install_missing` on a runtime that has `installed`: each pip call with the text of
    the constraints file it was given."""
    calls = []

    def pip(arguments: list[str]) -> None:
        calls.append((arguments, Path(arguments[arguments.index("-c") + 1]).read_text()))

    monkeypatch.setattr(d2lsetup, "installed_versions", lambda: dict(installed))
    assert d2lsetup.install_missing(framework, run=pip) is None  # the setup cell shows nothing
    return calls


def test_only_the_missing_packages_are_installed_and_the_rest_held_exactly(monkeypatch):
    everything = {name: "1.0" for name in [*d2lsetup.PACKAGES["pytorch"], "d2l"]}
    assert install(monkeypatch, "pytorch", everything) == []
    installed = {name: "1.0" for name in d2lsetup.PACKAGES["pytorch"] if name != "torch"}
    installed |= {"numpy": "1.26.4+local", "pip": "24.0", "setuptools": "65.5.0"}
    (first, held), (second, _) = install(monkeypatch, "pytorch", installed)
    assert first[-1] == "torch==2.14.1" and "--no-deps" not in first
    assert second[-2:] == ["--no-deps", "d2l==1.0.3"]
    assert "numpy===1.26.4+local" in held.splitlines()
    assert not any(line.startswith(("pip=", "setuptools=")) for line in held.splitlines())


def test_the_cpu_build_of_tensorflow_counts_as_tensorflow(monkeypatch):
    dist = SimpleNamespace(metadata={"Name": "tensorflow_cpu"}, version="2.20")
    monkeypatch.setattr(d2lsetup.importlib.metadata, "distributions", lambda: [dist])
    assert d2lsetup.installed_versions()["tensorflow"] == "2.20"


def test_mxnet_installs_where_it_runs_and_elsewhere_stops_saying_where_it_runs(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 11, 9))
    calls = install(monkeypatch, "mxnet", {"numpy": "1.23.5"})
    assert "mxnet==1.9.1" in [spec for call, _ in calls for spec in call]
    calls = []
    monkeypatch.setattr(d2lsetup, "installed_versions", lambda: {"numpy": "2.4.6"})
    monkeypatch.setattr(sys, "version_info", (3, 13, 0))
    with pytest.raises(RuntimeError, match=r"Python 3\.13 and\s+numpy 2\.4\.6") as stop:
        d2lsetup.install_missing("mxnet", run=calls.append)
    assert "requirements-mxnet.txt" in str(stop.value) and "python3.11 -m venv" in str(stop.value)
    assert calls == []


def test_glue_outside_the_book_shows_the_value(monkeypatch):
    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)
    monkeypatch.setattr("IPython.display.display", shown.append)
    d2lsetup.glue("noise", 0.01)
    d2lsetup.glue("quiet", 0.02, display=False)
    assert shown == [0.01]


@pytest.mark.parametrize("framework", d2lsetup.FRAMEWORKS)
def test_each_setup_cell_installs_the_book_then_its_framework(framework):
    cell = d2lsetup.setup_cell(framework)
    compile(cell, "setup cell", "exec")  # it runs on its own, before anything is installed
    assert f'BOOK = "d2lsave @ git+{d2lsetup.REPOSITORY}"' in cell
    assert cell.endswith(f'install_missing("{framework}")')


@pytest.mark.parametrize(
    ("function", "arguments"),
    [(d2lsetup.missing, ("torch", {})), (d2lsetup.setup_cell, ("torch",))],
)
def test_an_unknown_framework_is_named_with_the_ones_accepted(function, arguments):
    with pytest.raises(ValueError, match=r"framework='torch': expected one of 'pytorch', 'jax'"):
        function(*arguments)
