"""write_regression_file and open_regression_file: never a file that passes as complete but is
not, resumable writes, and errors that name what went wrong."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


@pytest.fixture(scope="module")
def one_pass(tmp_path_factory) -> tuple[bytes, dict]:
    """The bytes and manifest of a file written in one go."""
    path = tmp_path_factory.mktemp("one-pass") / "rows.npy"
    _write(path)
    return path.read_bytes(), json.loads(manifest_path(path).read_text())


def _assert_not_complete(path: Path) -> None:
    """Nothing at `path` passes as a complete dataset."""
    with pytest.raises((IncompleteDatasetError, FileNotFoundError)):
        open_regression_file(path)


def test_the_file_holds_the_rows_and_the_manifest_says_so(tmp_path, one_pass):
    rows = _write(tmp_path / "rows.npy")
    expected = RegressionRows(**{k: v for k, v in ARGS.items() if k != "chunk"}, block_size=100)
    assert np.array_equal(np.asarray(rows), expected[:])
    manifest = json.loads(manifest_path(tmp_path / "rows.npy").read_text())
    assert manifest["complete"] is True
    assert manifest["shape"] == [1950, 3] and manifest["dtype"] == "float32"
    assert manifest["chunk_size"] == 100 and manifest["parameters"]["noise"] == 0.01
    assert not (tmp_path / "rows.npy.partial").exists()
    assert open_regression_file(tmp_path / "rows.npy", verify=True).shape == (1950, 3)


def _killed_writer(path: str, kill_at: int, before_write: bool) -> None:
    """In a child process: write, and SIGKILL this process at chunk `kill_at`."""
    real_pwrite, chunks = os.pwrite, []

    def pwrite(descriptor, data, offset):
        if offset > 0:  # offset 0 is the header
            chunks.append(offset)
            if len(chunks) == kill_at and before_write:
                os.kill(os.getpid(), signal.SIGKILL)
        written = real_pwrite(descriptor, data, offset)
        if len(chunks) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return written

    os.pwrite = pwrite
    _write(Path(path))


def _chunks_written_by(action) -> int:
    """How many chunks `action` writes (the header, at offset 0, does not count)."""
    real_pwrite, chunks = os.pwrite, []

    def pwrite(descriptor, data, offset):
        chunks.extend([offset] if offset > 0 else [])
        return real_pwrite(descriptor, data, offset)

    os.pwrite = pwrite
    try:
        action()
    finally:
        os.pwrite = real_pwrite
    return len(chunks)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_write_killed_at_a_random_chunk_resumes_to_the_same_bytes(tmp_path, one_pass, seed):
    rng = np.random.default_rng(seed)
    kill_at, before_write = int(rng.integers(1, 21)), bool(rng.integers(2))
    path = tmp_path / "rows.npy"
    child = multiprocessing.get_context("fork").Process(
        target=_killed_writer, args=(str(path), kill_at, before_write)
    )
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    _assert_not_complete(path)
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["complete"] is False
    assert manifest["chunks_written"] == (kill_at - 1) // CHECKPOINT * CHECKPOINT
    assert _chunks_written_by(lambda: _write(path)) == 20 - manifest["chunks_written"]
    data, final = one_pass
    assert path.read_bytes() == data
    assert json.loads(manifest_path(path).read_text()) == final


@pytest.mark.processes
def test_a_write_killed_by_the_shell_resumes_too(tmp_path, one_pass):
    """SIGKILL from outside, at whatever chunk the write has reached after a moment."""
    path = tmp_path / "rows.npy"
    code = (
        "import os, time\n"
        "real = os.pwrite\n"
        "def slow(*args):\n"
        "    time.sleep(0.05)\n"
        "    return real(*args)\n"
        "os.pwrite = slow\n"
        "from tests.product.test_writer import _write\n"
        "from pathlib import Path\n"
        f"_write(Path({str(path)!r}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", code], cwd=root)
    try:
        for _ in range(1200):  # until a checkpoint is recorded (d2lsave's import takes seconds)
            try:
                if json.loads(manifest_path(path).read_text())["chunks_written"] > 0:
                    break
            except (FileNotFoundError, json.JSONDecodeError, KeyError):
                pass
            if child.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    _assert_not_complete(path)
    _write(path)
    assert path.read_bytes() == one_pass[0]


def test_the_reader_refuses_an_incomplete_file_and_says_how_to_resume(tmp_path):
    path = tmp_path / "rows.npy"
    _write(path)
    manifest = json.loads(manifest_path(path).read_text())
    manifest_path(path).write_text(json.dumps(manifest | {"complete": False, "chunks_written": 6}))
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
    ("where", "error", "message"),
    [
        ("missing/rows.npy", FileNotFoundError, "folder .*missing.* does not exist"),
        ("", IsADirectoryError, "path must name a file, got the folder"),
    ],
    ids=["missing folder", "a folder"],
)
def test_a_bad_path_is_named(tmp_path, where, error, message):
    with pytest.raises(error, match=message):
        _write(tmp_path / where)
    assert list(tmp_path.rglob("*.json")) == []


def test_a_path_that_is_not_one_is_named():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got 3"):
        _write(3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"noise": -1}, "noise must be a finite real number >= 0, got -1"),
        ({"num_examples": 0}, "num_examples must be an integer >= 1, got 0"),
        ({"chunk": 0}, "chunk must be an integer >= 1, got 0"),
        ({"w": []}, "w must be a non-empty"),
        ({"num_examples": 2**40, "chunk": 1}, "makes 1,099,511,627,776 blocks, and at most 2"),
        ({"checkpoint_every": 0}, "checkpoint_every must be an integer >= 1"),
    ],
)
def test_wrong_parameters_are_named_and_leave_nothing(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        _write(tmp_path / "rows.npy", **change)
    assert list(tmp_path.iterdir()) == []


def test_resuming_with_other_parameters_is_refused(tmp_path):
    path = tmp_path / "rows.npy"
    with pytest.raises(DiskFullError):
        _fail_at_chunk(path, 7)
    with pytest.raises(ValueError, match="unfinished write with parameters .*'seed': 0"):
        _write(path, seed=1)
    _assert_not_complete(path)
    _write(path, seed=1, resume=False)
    assert json.loads(manifest_path(path).read_text())["parameters"]["seed"] == 1


def _fail_at_chunk(path: Path, chunk: int) -> None:
    """Write, with ENOSPC raised by the pwrite of chunk `chunk`."""
    real_pwrite, chunks = os.pwrite, []

    def pwrite(descriptor, data, offset):
        if offset > 0:
            chunks.append(offset)
            if len(chunks) == chunk:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_pwrite(descriptor, data, offset)

    os.pwrite = pwrite
    try:
        _write(path)
    finally:
        os.pwrite = real_pwrite


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


def _can_mount_tmpfs(folder: Path) -> bool:
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def test_a_real_full_disk_on_a_small_tmpfs(tmp_path):
    """Where this test may mount a 16 kB tmpfs (as root), a real ENOSPC, not an injected one."""
    small = tmp_path / "small"
    if os.geteuid() != 0 or not _can_mount_tmpfs(small):
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
