"""`make env` hands uv the package sources pip is set up with (tools/pip_sources.py)."""

from __future__ import annotations

from tools.pip_sources import pip_settings, uv_options

LISTING = """global.cert='/etc/ssl/certs/ca-certificates.crt'
global.constraint='/etc/pip/constraints.txt'
global.extra-index-url='file:///srv/a/simple file:///srv/b/simple'
global.find-links='/srv/wheels'
:env:.find-links='/srv/wheels'
:env:.default-timeout='180'
"""
CHOICE = ["--index-strategy", "unsafe-best-match"]


def test_pip_sources_become_uv_options_once_each():
    assert uv_options(pip_settings(LISTING)) == [
        *CHOICE,
        "--constraint",
        "/etc/pip/constraints.txt",
        "--extra-index-url",
        "file:///srv/a/simple",
        "--extra-index-url",
        "file:///srv/b/simple",
        "--find-links",
        "/srv/wheels",
    ]


def test_the_lock_is_resolved_without_local_constraints_files():
    assert "--constraint" not in uv_options(pip_settings(LISTING), constraints=False)


def test_an_unconfigured_pip_leaves_only_its_way_of_choosing_among_indexes():
    assert uv_options(pip_settings("")) == CHOICE
