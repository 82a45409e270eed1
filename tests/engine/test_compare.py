"""How a first sync compares two systems' records: the same value written two ways is equal,
a different value is not, and a record without its match key matches nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.compare import digest_of, match_text


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (42, "42"),
        (Decimal("9.50"), 9.5),
        (True, 1),
        (dt.datetime(2026, 11, 27, 10, 0, 0, 500000, tzinfo=dt.UTC), "2026-11-27T10:00:00.5Z"),
        (dt.datetime(2026, 11, 27, 10), "2026-11-27 10:00:00"),  # naive: UTC, as in a table
        (dt.date(2026, 11, 27), "2026-11-27"),
        ({"b": 1, "a": [1, 2]}, {"a": [1, 2], "b": 1}),
    ],
    ids=["number-text", "decimal", "flag", "instant", "naive", "date", "object"],
)
def test_one_value_written_two_ways_compares_equal(ours: object, theirs: object) -> None:
    """A table's value and a tool's JSON for the same thing have the same digest."""
    assert digest_of(["v"], (ours,)) == digest_of(["v"], (theirs,))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("open", "closed"), (1, 2), ("a", None), (dt.date(2026, 1, 1), "2026-01-02"), ("", None)],
    ids=["text", "number", "null", "date", "empty-text"],
)
def test_different_values_compare_different(ours: object, theirs: object) -> None:
    """A real difference survives the normal form, so the record is written."""
    assert digest_of(["v"], (ours,)) != digest_of(["v"], (theirs,))


def test_a_null_and_a_field_left_out_are_the_same_record() -> None:
    """A tool that leaves an empty field out holds what a table with NULL there holds."""
    assert digest_of(["a", "b"], (1, None)) == digest_of(["a"], (1,))


@given(st.dictionaries(st.text(min_size=1), st.integers() | st.text() | st.none(), max_size=6))
def test_the_digest_ignores_column_order(record: dict[str, object]) -> None:
    """Two systems list a record's fields in their own order: the digest is the same."""
    columns = list(record)
    backwards = list(reversed(columns))
    assert digest_of(columns, tuple(record[c] for c in columns)) == digest_of(
        backwards, tuple(record[c] for c in backwards)
    )


def test_match_keys_agree_across_types_and_refuse_missing_values() -> None:
    """42, 42.0 and "42" are one key; a key with a missing or empty part matches nothing."""
    assert match_text([42]) == match_text(["42"]) == match_text([42.0])
    assert match_text(["eu", 7]) == match_text(["eu", "7"]) != match_text(["us", 7])
    assert match_text([None]) is None and match_text(["a", ""]) is None


def test_ids_past_a_floats_precision_stay_apart() -> None:
    """Two 19-digit ids a float would make one are two values; each equals its own digits."""
    assert digest_of(["v"], (2**60,)) != digest_of(["v"], (2**60 + 1,))
    assert digest_of(["v"], (2**60 + 1,)) == digest_of(["v"], (str(2**60 + 1),))
