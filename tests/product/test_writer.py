"""write_regression_file and open_regression_file: no file passes as complete unless it is,
writes resume to the same bytes, and errors name what went wrong."""

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
from tests.product.conftest import FILE, ROWS

NOT_COMPLETE = (IncompleteDatasetError, FileNotFoundError)
read = d2lsave.open_regression_file


def _write(path: Path, **changes):
    return d2lsave.write_regression_file(path, **FILE | {"progress": False} | changes)


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


@pytest.mark.parametrize(
    ("kill_at", "before_write", "from_outside"),
    [(18, True, False), (10, True, False), (17, False, False), (5, True, True)],
)
def test_a_killed_write_resumes_to_the_same_bytes(
    tmp_path, written, kill_at, before_write, from_outside
):
    """SIGKILL, from the writer itself or from here, before or after it writes chunk `kill_at`;
    resuming writes only the chunks after the last checkpoint, into the same file."""
    path, fork = tmp_path / "rows.npy", multiprocessing.get_context("fork")
    waiting = fork.Event()

    def hook(n, done):
        if n == kill_at and done != before_write:
            waiting.set()
            if from_outside:
                time.sleep(60)
            else:
                os.kill(os.getpid(), signal.SIGKILL)

    with _on_chunks(hook):
        child = fork.Process(target=_write, args=(path,))
        child.start()
    if from_outside:
        assert waiting.wait(60)
        os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    pytest.raises(NOT_COMPLETE, read, path)
    manifest = _manifest(path)
    assert manifest["complete"] is False
    assert manifest["chunks_written"] == (kill_at - 1) // 3 * 3  # checkpoint_every=3
    rewritten = []
    with _on_chunks(lambda n, done: rewritten.append(n) if done else None):
        _write(path)
    assert len(rewritten) == 20 - manifest["chunks_written"]
    assert path.read_bytes() == written.read_bytes() and _manifest(path) == _manifest(written)


@pytest.mark.parametrize(
    ("where", "change", "error", "message"),
    [
        ("missing/rows.npy", {}, FileNotFoundError, "folder .*missing.* does not exist"),
        ("", {}, IsADirectoryError, "path must name a file, got the folder"),
        (3, {}, TypeError, "path must be a str or os.PathLike, got 3"),
    ]
    + [
        ("rows.npy", change, ValueError, message)
        for change, message in [
            ({"noise": -1}, "noise must be a finite real number >= 0, got -1"),
            ({"num_examples": 0}, "num_examples must be an integer >= 1"),
            ({"chunk": 0}, "chunk must be an integer >= 1, got 0"),
            ({"w": []}, "w must be a non-empty"),
            ({"num_examples": 2**40, "chunk": 1}, "makes 1,099,511,627,776 blocks, and at most 2"),
            ({"checkpoint_every": 0}, "checkpoint_every must be an integer"),
        ]
    ],
)
def test_wrong_arguments_are_named_and_leave_nothing(tmp_path, where, change, error, message):
    with pytest.raises(error, match=message):
        _write(tmp_path / where if isinstance(where, str) else where, **change)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_named_and_the_write_resumes_with_the_same_parameters(tmp_path, written):
    path, other = tmp_path / "rows.npy", tmp_path / "other.npy"
    with pytest.raises(DiskFullError, match="no space left .* free some space") as err:
        _fail_at_chunk(path, 11)
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    pytest.raises(NOT_COMPLETE, read, path)
    error = pytest.raises(ValueError, _write, path, seed=1)
    error.match("unfinished write with parameters .*'seed': 0")
    pytest.raises(NOT_COMPLETE, read, path)
    _write(path)
    assert path.read_bytes() == written.read_bytes()
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
