"""Imported rows checked without the model: ``plain_observation`` gives a row exactly the values
``ObservationIn`` gives it, or leaves the row to the model.

Rows are drawn near the boundaries of every rule (codes with spaces or in lower case, periods in
other spellings or other digits, counts as text in every form the model reads, texts with NUL,
lone surrogates or characters only one of the two strips, unknown and missing columns).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from recnet.schemas.statistics_io import ObservationIn, observation_values, plain_observation

PLAIN: dict[str, Any] = {
    "REF_AREA": "UZB",
    "INDICATOR": "RETURNED",
    "SEX": "F",
    "AGE": "Y0T4",
    "COUNTERPART_AREA": "SYR",
    "TIME_PERIOD": "2024-03",
    "OBS_VALUE": "12",
}
# Per column: values the model accepts as they are, then values near the rules' boundaries
# (valid in another spelling, or invalid).
VALID = {
    "REF_AREA": ["UZB", "KAZ", "TKM"],
    "INDICATOR": ["RETURNED", "EMPLOYED", "IN_VOCATIONAL_TRAINING"],
    "SEX": ["F", "M", "_T"],
    "AGE": ["Y0T4", "Y_GE60", "_U", "_T"],
    "COUNTERPART_AREA": ["SYR", "_O", "_T"],
    "TIME_PERIOD": ["2024", "2024-Q1", "2024-Q4", "2024-01", "2024-10", "2024-12", "1999-07"],
    "OBS_VALUE": ["0", "7", "2000000000", 0, 5, 2_000_000_000],
    "OBS_STATUS": ["A", "E", "P"],
    "UNIT_MEASURE": ["PS"],
    "SOURCE": ["Ministry", "", "x" * 200, "Ташкент", None],
    "COMMENT": ["a note", "y" * 500, "Предварительные данные", None],
}
CODE_EDGES = ["CAS", "XXX", "returned", "uzb", "F ", " M", "_t", "", "Y0T4\n", "\x00F", "\x1cF"]
EDGES = {
    **{name: CODE_EDGES for name in VALID if name not in ("TIME_PERIOD", "OBS_VALUE")},
    "TIME_PERIOD": [
        "2024Q2", "202403", "2024-q3", " 2024-01", "2024-01 ", "2024-03\n", "2024-13", "2024-Q5",
        "2024-00", "2024-Q0", "24", "\u0662\u0660\u0662\u0664", "2024-\u0661\u0662", "2024-1",
        "\x1c2024",
    ],
    "OBS_VALUE": [
        "007", "2000000001", "9999999999", "12345678901", "-1", "-0", "+5", "1_000", "12.0",
        "1e3", "", " 5", "5 ", "\u0663", "\u00b2", "0x1F", 2_000_000_001, -1, 12.0, 12.5, True,
        False, None, [1],
    ],
    "SOURCE": [
        "x" * 201, " padded", "padded ", "a\x00b", "\ud800", "\x1ca", "a\x1c", "\u00a0a",
        "a\u2028", "\u3000", 5, ["a"],
    ],
}  # fmt: skip
EDGES["COMMENT"] = [*EDGES["SOURCE"], "y" * 501]
OTHER_TYPES = [None, 1, 1.5, True, ["UZB"], {"x": 1}, b"UZB"]


@st.composite
def rows(draw: st.DrawFn) -> Any:
    """A valid row in the plain form, with up to three of its values garbled, a column missing
    or added, or not a row at all."""
    row: dict[str, Any] = {name: draw(st.sampled_from(values)) for name, values in VALID.items()}
    for name in ("OBS_STATUS", "UNIT_MEASURE", "SOURCE", "COMMENT"):
        if draw(st.booleans()):
            del row[name]  # optional: the model's default applies
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 1, 2, 3]))):
        name = draw(st.sampled_from(sorted(VALID)))
        row[name] = draw(st.sampled_from([*EDGES[name], *OTHER_TYPES]))
    if draw(st.integers(0, 19)) == 0:
        del row[draw(st.sampled_from(sorted(row)))]
    if draw(st.integers(0, 19)) == 0:
        row[draw(st.sampled_from(["EXTRA", "obs_value", "CONF_STATUS"]))] = "1"
    return draw(st.sampled_from([row] * 20 + [[row], None, "UZB"]))


def model_values(raw: Any) -> Any:
    try:
        return observation_values(ObservationIn.model_validate(raw))
    except ValidationError:
        return None


@pytest.mark.slow
@settings(max_examples=3000, deadline=None)
@given(rows())
@example({**PLAIN, "SOURCE": "\ud800"})
@example({**PLAIN, "COMMENT": "\x1cnote"})
@example({**PLAIN, "OBS_VALUE": True})
@example({**PLAIN, "TIME_PERIOD": "2024-03\n"})
def test_a_row_checked_without_the_model_gets_the_models_values(raw: Any) -> None:
    """Never a row the model refuses, never other values than the model's."""
    values = plain_observation(raw)
    if values is not None:
        assert model_values(raw) == values
    # How the rows drawn fall (--hypothesis-show-statistics): each kind is well represented.
    event("plain" if values is not None else "model only" if model_values(raw) else "invalid")


@pytest.mark.parametrize(
    "raw",
    [
        PLAIN,
        {**PLAIN, "OBS_VALUE": 12},  # JSON
        {**PLAIN, "OBS_VALUE": "0", "TIME_PERIOD": "2024"},
        {**PLAIN, "TIME_PERIOD": "2024-Q2", "OBS_STATUS": "E", "UNIT_MEASURE": "PS"},
        {**PLAIN, "SOURCE": "Ministry of Labour", "COMMENT": "Предварительные данные"},
        {**PLAIN, "SOURCE": None, "COMMENT": "x" * 500},
    ],
)
def test_plain_rows_are_checked_without_the_model(raw: dict[str, Any]) -> None:
    assert plain_observation(raw) == model_values(raw)
    assert plain_observation(raw) is not None


@pytest.mark.parametrize(
    "raw",
    [
        {**PLAIN, "REF_AREA": " UZB"},  # valid, but stripped by the model
        {**PLAIN, "TIME_PERIOD": "2024Q1"},  # valid, normalised by the model
        {**PLAIN, "OBS_VALUE": "+5"},
        {**PLAIN, "OBS_VALUE": True},
        {**PLAIN, "COMMENT": " padded "},
        {**PLAIN, "SEX": "X"},  # invalid
        {**PLAIN, "OBS_VALUE": "2000000001"},
        {**PLAIN, "SOURCE": "a\x00b"},
        {**PLAIN, "SOURCE": "\ud800"},
        {**PLAIN, "EXTRA": "1"},
        {k: v for k, v in PLAIN.items() if k != "AGE"},
    ],
)
def test_other_rows_are_left_to_the_model(raw: dict[str, Any]) -> None:
    assert plain_observation(raw) is None
