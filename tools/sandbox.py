"""Run a student's notebook where it can change nothing but one folder: bubblewrap's namespaces
(no root, no daemon) make the rest read-only, hide /tmp and HOME, its own processes and loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

BWRAP = "bwrap"
INSTALL_HINT = "install bubblewrap (Debian and Ubuntu: `sudo apt-get install bubblewrap`)"


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing, or cannot make namespaces on this machine; says which."""


def readable_paths() -> list[Path]:
    """What sandboxed Python reads under the hidden folders: its environment and base Python, the
    checkout (d2lsave is installed from it) and the bytecode cache, if set."""
    from tools.book import ROOT

    cache = os.environ.get("PYTHONPYCACHEPREFIX")
    return [Path(sys.prefix), Path(sys.base_prefix), ROOT, *([Path(cache)] if cache else [])]


def command(
    writable: Path, argv: Iterable[str], readable: Iterable[Path] = (), cwd: Path | None = None
) -> list[str]:
    """`argv` run by bubblewrap with only `writable` open to writes, in `cwd` (or `writable`)."""
    writable, home = writable.resolve(), Path.home().resolve()
    options = ["--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc"]
    options += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm"]
    for hidden in ["/tmp", *([str(home)] if home != Path("/") else [])]:
        options += ["--tmpfs", hidden]
    for path in dict.fromkeys(Path(p).resolve() for p in readable):
        if path.exists():
            options += ["--ro-bind", str(path), str(path)]
    options += ["--bind", str(writable), str(writable), "--chdir", str(cwd or writable)]
    return [BWRAP, *options, "--", *argv]


def check_available() -> None:
    """Fail with what to do unless bubblewrap runs here."""
    if shutil.which(BWRAP) is None:
        raise SandboxUnavailable(f"bubblewrap ({BWRAP}) is not installed: {INSTALL_HINT}")
    probe = [BWRAP, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "true"]
    result = subprocess.run(probe, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise SandboxUnavailable(
            f"bubblewrap cannot make its namespaces on this machine ({reason}); unprivileged "
            "user namespaces may be switched off (sysctl kernel.unprivileged_userns_clone)"
        )
