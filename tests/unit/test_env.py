"""The commands start on any Python 3 and make an environment again only when its inputs change."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT
from tools import env


def test_an_environment_is_made_again_exactly_when_its_inputs_change(tmp_path):
    inputs = [tmp_path / "requirements.txt", tmp_path / "constraints.txt"]
    for path in inputs:
        path.write_text("numpy==2.4.6\n")
    stamp, made = tmp_path / ".inputs", []
    for _ in range(2):
        env._made(stamp, inputs, lambda: made.append(1))
    assert made == [1]  # the second time, the digest matched
    inputs[1].write_text("numpy==2.4.7\n")
    env._made(stamp, inputs, lambda: made.append(2))
    assert made == [1, 2]


def test_a_failed_make_leaves_no_stamp_so_the_next_command_tries_again(tmp_path):
    (tmp_path / "requirements.txt").write_text("x\n")

    def fails() -> None:
        raise subprocess.CalledProcessError(1, "uv")

    try:
        env._made(tmp_path / ".inputs", [tmp_path / "requirements.txt"], fails)
    except subprocess.CalledProcessError:
        pass
    assert not (tmp_path / ".inputs").exists()


def test_the_commands_start_with_the_standard_library_alone():
    """`python3 -m tools` runs before any environment exists: no site-packages at all here."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "tools", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for command in ("book", "notebooks", "lab", "bench", "grade"):
        assert command in result.stdout
