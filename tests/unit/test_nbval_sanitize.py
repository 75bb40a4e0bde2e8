"""What nbval compares: the stored outputs' digits that do not depend on the machine.

Float64 reductions (sums over many rows, `solve`, `lstsq`) round their last digits differently
with the CPU's BLAS kernels and thread count. The sanitizing patterns cut every decimal after
the sixth significant digit, on both sides of the comparison, and leave everything shorter
alone: printed tensors, integers and formatted numbers are compared exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).parents[1] / "nbval_sanitize.cfg"


def sanitized(text: str) -> str:
    """`text` as nbval compares it: each pattern of the config applied in turn, as nbval does."""
    for regex, replace in get_sanitize_patterns(CONFIG.read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize(
    ("stored", "rerun"),
    [
        ("0.10107155209990476", "0.10107155209990475"),  # an RMS from np.linalg.solve
        ("0.00044779575619965754", "0.0004477957561979546"),  # a distance from lstsq
        ("1.9970292982807947", "1.9970292982808012"),
        ("-3.4000000000000004", "-3.4000000000000017"),
        ("[0.5000000000000001, 2.0000000000000004]", "[0.5000000000000003, 2.000000000000001]"),
        ("1.2345678901234e-05", "1.2345678901299e-05"),
    ],
)
def test_last_digits_of_reductions_are_not_compared(stored, rerun):
    assert stored != rerun
    assert sanitized(stored) == sanitized(rerun)


@pytest.mark.parametrize(
    ("stored", "rerun"),
    [
        ("0.1010715", "0.1011715"),  # the fourth digit, which the page shows
        ("0.000447795", "0.000447895"),
        ("tensor([[ 1.4097, -0.9452]])", "tensor([[ 1.4097, -0.9453]])"),
        ("12345.6789", "12345.7789"),
        ("1234567.891", "1234567.892"),  # no integer digit is ever cut
        ("31", "32"),
        ("0.1", "0.2"),
    ],
)
def test_digits_a_page_shows_are_still_compared(stored, rerun):
    assert sanitized(stored) != sanitized(rerun)


def test_short_numbers_and_text_are_left_as_they_are():
    text = "tensor([[ 1.4097, -0.9452]]) 1000 examples, 31 minibatches, last 8; 0.123456 v1.2.3"
    assert sanitized(text) == text
    assert sanitized("0.10107155209990476") == "0.101071"
    assert sanitized("w error 0.0004477957561979546") == "w error 0.000447795"


# --- glued numbers ------------------------------------------------------------------------

GLUE_TEXT = re.compile(r"\{glue:text\}`([^`:]+):([^`]+)`")
PRECISION = re.compile(r"^,?\.(\d+)([fe%])$")
BOOK = Path(__file__).parents[2] / "book"


def shown_decimals() -> dict[str, tuple[int, str]]:
    """For each glued key a page formats, the finest precision it is shown at."""
    finest: dict[str, tuple[int, str]] = {}
    for page in BOOK.glob("*.md"):
        for key, spec in GLUE_TEXT.findall(page.read_text()):
            match = PRECISION.match(spec)
            if match:
                digits, kind = int(match[1]), match[2]
                if key not in finest or digits > finest[key][0]:
                    finest[key] = (digits, kind)
    return finest


def compared_glued_floats() -> list[tuple[str, str, float]]:
    """(notebook, key, value) of every glued float that nbval compares."""
    import nbformat

    found = []
    for path in sorted(BOOK.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if "nbval-ignore-output" in cell.metadata.get("tags", []):
                continue
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("application/papermill.record/text/plain")
                try:
                    value = float(text)
                except (TypeError, ValueError):
                    continue
                if not re.fullmatch(r"-?\d+", text):
                    found.append((path.name, output["metadata"]["scrapbook"]["name"], value))
    return found


def test_glued_floats_are_stored_at_the_precision_the_page_shows():
    """A float glued from sums, solves or training differs in its last digits from one CPU to
    the next; stored at the precision the page shows, the comparison holds everywhere."""
    finest = shown_decimals()
    assert compared_glued_floats(), "the notebooks glue floats"
    too_precise = []
    for notebook, key, value in compared_glued_floats():
        if key not in finest:
            continue  # shown as it is, or not shown
        digits, kind = finest[key]
        rounded = {
            "f": round(value, digits),
            "%": round(value, digits + 2),
            "e": float(f"{value:.{digits}e}"),
        }[kind]
        if rounded != value:
            too_precise.append(f"{notebook}: {key} = {value!r}, shown as {kind} to {digits}")
    assert too_precise == []
