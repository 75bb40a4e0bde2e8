"""The uv options that make `uv pip` install from where pip is set up to (tools/env.py).

uv reads no pip configuration. A machine whose pip is told to look in extra indexes, in local
wheel folders or under a constraints file (through pip.conf or PIP_* variables) would have uv
resolve elsewhere, and maybe download other builds of the same release. These are the same
sources as uv options, plus pip's way of choosing among indexes, so that both tools install
the same files. On a machine with no such configuration they are only that choice.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

# pip's key -> uv's option
OPTIONS = {
    "index-url": "--index-url",
    "extra-index-url": "--extra-index-url",
    "find-links": "--find-links",
    "constraint": "--constraint",
}
SETTING = re.compile(r"^[^.]*\.(?P<key>[\w-]+)='(?P<value>.*)'$")


def pip_settings(listing: str) -> list[tuple[str, str]]:
    """(key, value) for each value of each source setting in `pip config list` output."""
    settings = []
    for line in listing.splitlines():
        match = SETTING.match(line.strip())
        if match and match["key"] in OPTIONS:
            settings += [(match["key"], value) for value in match["value"].split()]
    return settings


def uv_options(settings: list[tuple[str, str]], constraints: bool = True) -> list[str]:
    """uv options for pip's sources; pip considers every index alike, and so will uv."""
    options = ["--index-strategy", "unsafe-best-match"]
    for key, value in dict.fromkeys(settings):
        if constraints or key != "constraint":
            options += [OPTIONS[key], value]
    return options


def source_options(constraints: bool = True, python: str | Path = sys.executable) -> list[str]:
    """uv options for the sources the pip of `python` is set up to use."""
    listing = subprocess.run(
        [str(python), "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return uv_options(pip_settings(listing), constraints=constraints)
