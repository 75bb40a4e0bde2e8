"""What nbval compares (tests/nbval_sanitize.cfg): not memory addresses, nor the decimals
past the sixth significant digit, where float64 reductions differ with the CPU's BLAS kernels and
thread count; printed tensors, integers and formatted numbers are compared exactly."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).parents[1] / "nbval_sanitize.cfg"
BOOK = Path(__file__).parents[2] / "book"
GLUED_AT = re.compile(r"\{glue:text\}`([^`:]+):,?\.(\d+)([fe%])`")  # key, digits, kind
GLUED = "application/papermill.record/text/plain"
FLOAT = re.compile(r"-?\d+(\.\d+(e[-+]?\d+)?|e[-+]?\d+)")


def sanitized(text: str) -> str:
    """`text` as nbval compares it: each pattern of the config applied in turn, as nbval does."""
    for regex, replace in get_sanitize_patterns(CONFIG.read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("stored", "rerun", "compared"),
    [
        ("0.10107155209990476", "0.10107155209990475", False),  # an RMS from np.linalg.solve
        ("0.00044779575619965754", "0.0004477957561979546", False),  # a distance from lstsq
        ("1.9970292982807947", "1.9970292982808012", False),
        ("-3.4000000000000004", "-3.4000000000000017", False),
        (
            "[0.5000000000000001, 2.0000000000000004]",
            "[0.5000000000000003, 2.000000000000001]",
            False,
        ),
        ("1.2345678901234e-05", "1.2345678901299e-05", False),
        ("<Panel at 0x7f3a2b1c4d50>", "<Panel at 0x55d0c3a1f2e0>", False),
        ("0.1010715", "0.1011715", True),  # the fourth digit, which the page shows
        ("0.000447795", "0.000447895", True),
        ("tensor([[ 1.4097, -0.9452]])", "tensor([[ 1.4097, -0.9453]])", True),
        ("12345.6789", "12345.7789", True),
        ("1234567.891", "1234567.892", True),  # no integer digit is ever cut
        ("31", "32", True),
        ("0.1", "0.2", True),
    ],
)
def test_only_what_varies_between_runs_is_masked(stored, rerun, compared):
    assert stored != rerun
    assert (sanitized(stored) != sanitized(rerun)) == compared


def test_short_numbers_and_text_are_left_as_they_are():
    text = "tensor([[ 1.4097, -0.9452]]) 1000 examples, 31 minibatches, last 8; 0.123456 v1.2.3"
    assert sanitized(text) == text
    assert sanitized("0.10107155209990476") == "0.101071"
    assert sanitized("w error 0.0004477957561979546") == "w error 0.000447795"


def test_glued_floats_are_stored_at_the_precision_the_page_shows():
    """A float glued from sums, solves or training differs in its last digits from one CPU to
    the next; stored at the precision the page shows, the comparison holds everywhere."""
    finest: dict[str, tuple[int, str]] = {}  # key -> (digits, format) of the finest shown
    for page in BOOK.glob("*.md"):
        for key, digits, kind in GLUED_AT.findall(page.read_text()):
            spec = f".{int(digits) + 2}f" if kind == "%" else f".{digits}{kind}"
            finest[key] = max(finest.get(key, (-1, "")), (int(digits), spec))
    floats = [
        (path.name, output["metadata"]["scrapbook"]["name"], float(text))
        for path in sorted(BOOK.glob("*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
        if "nbval-ignore-output" not in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
        if FLOAT.fullmatch(text := output.get("data", {}).get(GLUED, ""))
    ]
    assert floats, "the notebooks glue floats"
    too_precise = [
        f"{notebook}: {key} = {value!r}, shown as {finest[key][1]}"
        for notebook, key, value in floats
        if key in finest and float(format(value, finest[key][1])) != value
    ]
    assert too_precise == []
