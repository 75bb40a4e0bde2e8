"""write_regression_file and open_regression_file: no file passes as complete unless it is,
writes resume to the same bytes, and errors name what went wrong."""

import contextlib
import errno
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

import d2lsave
from d2lsave import CorruptDatasetError, DiskFullError, IncompleteDatasetError, manifest_path

# 20 chunks of 100 rows, a checkpoint every third chunk: a kill often lands between two.
ROWS, CHECKPOINT = {"w": [2.0, -3.4], "b": 4.2, "noise": 0.01, "num_examples": 1950}, 3
ARGS = {**ROWS, "chunk": 100, "checkpoint_every": CHECKPOINT, "progress": False}
NOT_COMPLETE = (IncompleteDatasetError, FileNotFoundError)
read = d2lsave.open_regression_file


def _write(path: Path, **changes):
    return d2lsave.write_regression_file(path, **ARGS | changes)


def _manifest(path: Path) -> dict:
    return json.loads(manifest_path(path).read_text())


def _no_space(*_) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _on_chunks(hook):
    """Patch os.pwrite to call hook(n, written) before and after it writes the n-th chunk."""
    real, chunks = os.pwrite, itertools.count(1)

    def pwrite(descriptor, data, offset):
        if offset == 0:  # the header
            return real(descriptor, data, offset)
        n = next(chunks)
        hook(n, False)
        written = real(descriptor, data, offset)
        hook(n, True)
        return written

    return mock.patch.object(os, "pwrite", pwrite)


def _fail_at_chunk(path: Path, chunk: int) -> None:
    with _on_chunks(lambda n, written: _no_space() if n == chunk and not written else None):
        _write(path)


@pytest.fixture(scope="module")
def one_pass(tmp_path_factory) -> tuple[bytes, dict]:
    """The bytes and manifest of a file written in one go."""
    path = tmp_path_factory.mktemp("one-pass") / "rows.npy"
    _write(path)
    return path.read_bytes(), _manifest(path)


def test_the_reader_opens_the_rows_written_and_refuses_any_other_file(tmp_path):
    path = tmp_path / "rows.npy"
    rows = _write(path)
    assert np.array_equal(np.asarray(rows), d2lsave.RegressionRows(**ROWS, block_size=100)[:])
    manifest = _manifest(path)
    assert manifest["complete"] is True
    assert manifest["shape"] == [1950, 3] and manifest["dtype"] == "float32"
    assert manifest["chunk_size"] == 100 and manifest["parameters"]["noise"] == 0.01
    assert not (tmp_path / "rows.npy.partial").exists()
    assert read(path, verify=True).shape == (1950, 3)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    read(path)  # same size: only verify reads every byte
    pytest.raises(CorruptDatasetError, read, path, verify=True).match("CRC-32")
    path.write_bytes(bytes(data[:-12]))
    pytest.raises(CorruptDatasetError, read, path).match("should hold")
    manifest_path(path).write_text(json.dumps(manifest | {"complete": False, "chunks_written": 6}))
    error = pytest.raises(IncompleteDatasetError, read, path)
    assert "incomplete" in str(error.value) and "6 of 20 chunks" in str(error.value)
    assert "Resume it with write_regression_file" in str(error.value)
    assert "'seed': 0" in str(error.value)
    np.save(tmp_path / "bare.npy", np.zeros((3, 3), np.float32))
    pytest.raises(IncompleteDatasetError, read, tmp_path / "bare.npy").match("no manifest")
    pytest.raises(FileNotFoundError, read, tmp_path / "missing.npy").match("no dataset")


def _kill_and_resume(path: Path, one_pass, hook, from_outside: bool = False) -> dict:
    """Write in a forked child that calls hook(n, written) around each chunk, killed by the hook
    or from here once a checkpoint is recorded; resume here. Returns the manifest left."""
    with _on_chunks(hook):
        child = multiprocessing.get_context("fork").Process(target=_write, args=(path,))
        child.start()
    deadline = time.monotonic() + 60
    while from_outside and child.is_alive() and time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            if _manifest(path)["chunks_written"] > 0:
                break
        time.sleep(0.01)
    if from_outside:
        os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    pytest.raises(NOT_COMPLETE, read, path)
    manifest = _manifest(path)
    assert manifest["complete"] is False
    written = []  # resuming writes only the chunks after the last checkpoint, and the same file
    with _on_chunks(lambda n, done: written.append(n) if done else None):
        _write(path)
    assert len(written) == 20 - manifest["chunks_written"]
    assert path.read_bytes() == one_pass[0] and _manifest(path) == one_pass[1]
    return manifest


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_write_killed_at_a_random_chunk_resumes_to_the_same_bytes(tmp_path, one_pass, seed):
    rng = np.random.default_rng(seed)
    kill_at, before_write = int(rng.integers(1, 21)), bool(rng.integers(2))

    def hook(n, written):
        if n == kill_at and written != before_write:
            os.kill(os.getpid(), signal.SIGKILL)

    manifest = _kill_and_resume(tmp_path / "rows.npy", one_pass, hook)
    assert manifest["chunks_written"] == (kill_at - 1) // CHECKPOINT * CHECKPOINT


def test_a_write_killed_from_outside_resumes_too(tmp_path, one_pass):
    """SIGKILL from another process at whatever chunk; the last one waits to be killed."""
    _kill_and_resume(
        tmp_path / "rows.npy", one_pass, lambda n, _: time.sleep(60 if n == 20 else 0.05), True
    )


@pytest.mark.parametrize(
    ("where", "change", "error", "message"),
    [
        ("missing/rows.npy", {}, FileNotFoundError, "folder .*missing.* does not exist"),
        ("", {}, IsADirectoryError, "path must name a file, got the folder"),
        (3, {}, TypeError, "path must be a str or os.PathLike, got 3"),
        ("rows.npy", {"noise": -1}, ValueError, "noise must be a finite real number >= 0, got -1"),
        ("rows.npy", {"num_examples": 0}, ValueError, "num_examples must be an integer >= 1"),
        ("rows.npy", {"chunk": 0}, ValueError, "chunk must be an integer >= 1, got 0"),
        ("rows.npy", {"w": []}, ValueError, "w must be a non-empty"),
        (
            "rows.npy",
            {"num_examples": 2**40, "chunk": 1},
            ValueError,
            "makes 1,099,511,627,776 blocks, and at most 2",
        ),
        ("rows.npy", {"checkpoint_every": 0}, ValueError, "checkpoint_every must be an integer"),
    ],
)
def test_wrong_arguments_are_named_and_leave_nothing(tmp_path, where, change, error, message):
    with pytest.raises(error, match=message):
        _write(tmp_path / where if isinstance(where, str) else where, **change)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_named_and_the_write_resumes_with_the_same_parameters(tmp_path, one_pass):
    path, other = tmp_path / "rows.npy", tmp_path / "other.npy"
    with pytest.raises(DiskFullError, match="no space left .* free some space") as err:
        _fail_at_chunk(path, 11)
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    pytest.raises(NOT_COMPLETE, read, path)
    error = pytest.raises(ValueError, _write, path, seed=1)
    error.match("unfinished write with parameters .*'seed': 0")
    pytest.raises(NOT_COMPLETE, read, path)
    _write(path)
    assert path.read_bytes() == one_pass[0]
    pytest.raises(DiskFullError, _fail_at_chunk, other, 7)
    _write(other, seed=1, resume=False)
    assert _manifest(other)["parameters"]["seed"] == 1


def test_a_disk_too_small_fails_before_the_first_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "posix_fallocate", _no_space)
    pytest.raises(DiskFullError, _write, tmp_path / "rows.npy").match("needs 23,528 bytes")
    pytest.raises(NOT_COMPLETE, read, tmp_path / "rows.npy")


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path):
    """Where this test may mount a 16 kB tmpfs (as root), a real ENOSPC, not an injected one."""
    small = tmp_path / "small"
    small.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        pytest.raises(DiskFullError, _write, small / "rows.npy").match("no space left")
        pytest.raises(NOT_COMPLETE, read, small / "rows.npy")
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_the_progress_bar_shows_only_when_asked_or_slow(tmp_path, capsys):
    with mock.patch("tqdm.std.time", lambda: 0.0):  # quick, however loaded the machine
        _write(tmp_path / "quiet.npy", progress=None)  # tqdm's delay keeps it hidden
    _write(tmp_path / "off.npy", progress=False)
    assert capsys.readouterr().err == ""
    _write(tmp_path / "shown.npy", progress=True)
    assert "writing shown.npy" in capsys.readouterr().err
