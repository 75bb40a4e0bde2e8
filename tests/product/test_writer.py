"""write_regression_file and open_regression_file: never a file that passes as complete but is
not, resumable writes, and errors that name what went wrong."""

from __future__ import annotations

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

from d2lsave import (
    CorruptDatasetError,
    DiskFullError,
    IncompleteDatasetError,
    RegressionRows,
    manifest_path,
    open_regression_file,
    write_regression_file,
)

# 20 chunks of 100 rows, a checkpoint every third chunk: a kill often lands between two.
ARGS = {"w": [2.0, -3.4], "b": 4.2, "noise": 0.01, "num_examples": 1950, "chunk": 100}
CHECKPOINT = 3


def _write(path: Path, **changes):
    options = {**ARGS, "checkpoint_every": CHECKPOINT, "progress": False, **changes}
    return write_regression_file(path, **options)


def _manifest(path: Path) -> dict:
    return json.loads(manifest_path(path).read_text())


def _on_chunks(hook):
    """Patch os.pwrite to call hook(n, written) before and after it writes the n-th chunk (the
    header, at offset 0, is not one)."""
    real, chunks = os.pwrite, itertools.count(1)

    def pwrite(descriptor, data, offset):
        if offset == 0:
            return real(descriptor, data, offset)
        n = next(chunks)
        hook(n, False)
        written = real(descriptor, data, offset)
        hook(n, True)
        return written

    return mock.patch.object(os, "pwrite", pwrite)


def _fail_at_chunk(path: Path, chunk: int) -> None:
    """Write, with ENOSPC raised by the pwrite of chunk `chunk`."""

    def hook(n, written):
        if n == chunk and not written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with _on_chunks(hook):
        _write(path)


@pytest.fixture(scope="module")
def one_pass(tmp_path_factory) -> tuple[bytes, dict]:
    """The bytes and manifest of a file written in one go."""
    path = tmp_path_factory.mktemp("one-pass") / "rows.npy"
    _write(path)
    return path.read_bytes(), _manifest(path)


def _assert_not_complete(path: Path) -> None:
    """Nothing at `path` passes as a complete dataset."""
    with pytest.raises((IncompleteDatasetError, FileNotFoundError)):
        open_regression_file(path)


def test_the_file_holds_the_rows_and_the_manifest_says_so(tmp_path):
    rows = _write(tmp_path / "rows.npy")
    expected = RegressionRows(**{k: v for k, v in ARGS.items() if k != "chunk"}, block_size=100)
    assert np.array_equal(np.asarray(rows), expected[:])
    manifest = _manifest(tmp_path / "rows.npy")
    assert manifest["complete"] is True
    assert manifest["shape"] == [1950, 3] and manifest["dtype"] == "float32"
    assert manifest["chunk_size"] == 100 and manifest["parameters"]["noise"] == 0.01
    assert not (tmp_path / "rows.npy.partial").exists()
    assert open_regression_file(tmp_path / "rows.npy", verify=True).shape == (1950, 3)


def _killed(path: Path, hook, wait_for_checkpoint: bool = False) -> dict:
    """Write in a forked child that calls hook(n, written) around each chunk; SIGKILL it from
    here once a checkpoint is recorded, or let it die by itself. Returns the manifest left."""
    with _on_chunks(hook):
        child = multiprocessing.get_context("fork").Process(target=_write, args=(path,))
        child.start()
    deadline = time.monotonic() + 60
    while wait_for_checkpoint and child.is_alive() and time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            if _manifest(path)["chunks_written"] > 0:
                break
        time.sleep(0.01)
    if wait_for_checkpoint:
        os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    _assert_not_complete(path)
    manifest = _manifest(path)
    assert manifest["complete"] is False
    return manifest


def _resume(path: Path, manifest: dict, one_pass: tuple[bytes, dict]) -> None:
    """Resuming writes only the chunks after the last checkpoint, and the same file."""
    written = []
    with _on_chunks(lambda n, done: written.append(n) if done else None):
        _write(path)
    assert len(written) == 20 - manifest["chunks_written"]
    assert path.read_bytes() == one_pass[0] and _manifest(path) == one_pass[1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_write_killed_at_a_random_chunk_resumes_to_the_same_bytes(tmp_path, one_pass, seed):
    rng = np.random.default_rng(seed)
    kill_at, before_write = int(rng.integers(1, 21)), bool(rng.integers(2))

    def hook(n, written):
        if n == kill_at and written != before_write:
            os.kill(os.getpid(), signal.SIGKILL)

    manifest = _killed(tmp_path / "rows.npy", hook)
    assert manifest["chunks_written"] == (kill_at - 1) // CHECKPOINT * CHECKPOINT
    _resume(tmp_path / "rows.npy", manifest, one_pass)


def test_a_write_killed_from_outside_resumes_too(tmp_path, one_pass):
    """SIGKILL from another process, at whatever chunk the write has reached."""
    manifest = _killed(tmp_path / "rows.npy", lambda n, w: time.sleep(0.05), True)
    _resume(tmp_path / "rows.npy", manifest, one_pass)


def test_the_reader_refuses_an_incomplete_file_and_says_how_to_resume(tmp_path):
    path = tmp_path / "rows.npy"
    _write(path)
    manifest_path(path).write_text(
        json.dumps(_manifest(path) | {"complete": False, "chunks_written": 6})
    )
    with pytest.raises(IncompleteDatasetError, match="incomplete") as err:
        open_regression_file(path)
    assert "6 of 20 chunks" in str(err.value)
    assert "Resume it with write_regression_file" in str(err.value)
    assert "'seed': 0" in str(err.value)


def test_the_reader_refuses_a_file_without_manifest(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((3, 3), np.float32))
    with pytest.raises(IncompleteDatasetError, match="no manifest"):
        open_regression_file(path)
    with pytest.raises(FileNotFoundError, match="no dataset"):
        open_regression_file(tmp_path / "missing.npy")


def test_the_reader_checks_size_and_checksum(tmp_path):
    path = tmp_path / "rows.npy"
    _write(path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    open_regression_file(path)  # same size: only verify reads every byte
    with pytest.raises(CorruptDatasetError, match="CRC-32"):
        open_regression_file(path, verify=True)
    path.write_bytes(bytes(data[:-12]))
    with pytest.raises(CorruptDatasetError, match="should hold"):
        open_regression_file(path)


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


def test_resuming_with_other_parameters_is_refused(tmp_path):
    path = tmp_path / "rows.npy"
    with pytest.raises(DiskFullError):
        _fail_at_chunk(path, 7)
    with pytest.raises(ValueError, match="unfinished write with parameters .*'seed': 0"):
        _write(path, seed=1)
    _assert_not_complete(path)
    _write(path, seed=1, resume=False)
    assert _manifest(path)["parameters"]["seed"] == 1


def test_a_full_disk_while_writing_is_named_and_resumable(tmp_path, one_pass):
    path = tmp_path / "rows.npy"
    with pytest.raises(DiskFullError, match="no space left .* free some space") as err:
        _fail_at_chunk(path, 11)
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    _assert_not_complete(path)
    _write(path)
    assert path.read_bytes() == one_pass[0]


def test_a_disk_too_small_fails_before_the_first_chunk(tmp_path, monkeypatch):
    def no_space(descriptor, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    with pytest.raises(DiskFullError, match="needs 23,528 bytes"):
        _write(tmp_path / "rows.npy")
    _assert_not_complete(tmp_path / "rows.npy")


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path):
    """Where this test may mount a 16 kB tmpfs (as root), a real ENOSPC, not an injected one."""
    small = tmp_path / "small"
    small.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)]
    if os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        with pytest.raises(DiskFullError, match="no space left"):
            _write(small / "rows.npy")
        _assert_not_complete(small / "rows.npy")
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_the_progress_bar_shows_only_when_asked_or_slow(tmp_path, capsys):
    _write(tmp_path / "quiet.npy", progress=None)  # quick: tqdm's delay keeps it hidden
    _write(tmp_path / "off.npy", progress=False)
    assert capsys.readouterr().err == ""
    _write(tmp_path / "shown.npy", progress=True)
    assert "writing shown.npy" in capsys.readouterr().err
