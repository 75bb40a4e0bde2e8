"""The installer each notebook's first cell runs: only what is missing, nothing installed moves."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import d2lsetup


class Pip:
    """Stands in for pip: records each call and the constraints file it was given."""

    def __init__(self):
        self.calls: list[list[str]] = []
        self.constraints: list[str] = []

    def __call__(self, arguments: list[str]) -> None:
        self.calls.append(arguments)
        self.constraints.append(Path(arguments[arguments.index("-c") + 1]).read_text())


def runtime(monkeypatch, installed: dict[str, str]) -> Pip:
    monkeypatch.setattr(d2lsetup, "installed_versions", lambda: dict(installed))
    return Pip()


def test_a_runtime_that_has_everything_gets_no_install(monkeypatch):
    everything = {name: "1.0" for name in [*d2lsetup.PACKAGES["pytorch"], "d2l"]}
    pip = runtime(monkeypatch, everything)
    assert d2lsetup.install_missing("pytorch", run=pip) is None  # the setup cell shows nothing
    assert pip.calls == []


def test_only_the_missing_packages_are_installed_and_the_rest_held_exactly(monkeypatch):
    installed = {name: "1.0" for name in d2lsetup.PACKAGES["pytorch"] if name != "torch"}
    installed |= {"numpy": "1.26.4+local", "pip": "24.0", "setuptools": "65.5.0"}
    pip = runtime(monkeypatch, installed)
    d2lsetup.install_missing("pytorch", run=pip)
    (first, second) = pip.calls
    assert first[-1] == "torch==2.14.1" and "--no-deps" not in first
    assert second[-2:] == ["--no-deps", "d2l==1.0.3"]
    held = set(pip.constraints[0].splitlines())
    assert "numpy===1.26.4+local" in held
    assert not any(line.startswith(("pip=", "setuptools=")) for line in held)


def test_the_cpu_build_of_tensorflow_counts_as_tensorflow(monkeypatch):
    monkeypatch.setattr(
        d2lsetup.importlib.metadata, "distributions", lambda: [FakeDist("tensorflow_cpu", "2.20")]
    )
    assert d2lsetup.installed_versions()["tensorflow"] == "2.20"


class FakeDist:
    def __init__(self, name: str, version: str):
        self.metadata = {"Name": name}
        self.version = version


def test_an_unknown_framework_is_named_with_the_ones_accepted():
    with pytest.raises(ValueError, match=r"framework='torch': expected one of 'pytorch', 'jax'"):
        d2lsetup.missing("torch", {})


def test_mxnet_on_a_new_python_stops_before_installing_and_says_where_it_runs(monkeypatch):
    pip = runtime(monkeypatch, {"numpy": "2.4.6"})
    monkeypatch.setattr(sys, "version_info", (3, 13, 0))
    with pytest.raises(RuntimeError, match=r"Python 3\.13 and\s+numpy 2\.4\.6") as stop:
        d2lsetup.install_missing("mxnet", run=pip)
    assert "requirements-mxnet.txt" in str(stop.value) and "python3.11 -m venv" in str(stop.value)
    assert pip.calls == []


def test_mxnet_where_it_runs_installs_what_is_missing(monkeypatch):
    pip = runtime(monkeypatch, {"numpy": "1.23.5"})
    monkeypatch.setattr(sys, "version_info", (3, 11, 9))
    d2lsetup.install_missing("mxnet", run=pip)
    assert "mxnet==1.9.1" in [spec for call in pip.calls for spec in call]


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


def test_a_setup_cell_for_an_unknown_framework_names_the_ones_accepted():
    with pytest.raises(ValueError, match="framework='torch': expected one of 'pytorch'"):
        d2lsetup.setup_cell("torch")
