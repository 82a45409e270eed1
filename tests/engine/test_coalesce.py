"""Coalescing keeps one change per key: the newest version, else the last to arrive."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.coalesce import coalesce
from syncwell.types import ChangeBatch, Op


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 20)), min_size=1, max_size=50))
def test_coalescing_keeps_the_highest_version_per_key(pairs: list[tuple[int, int]]) -> None:
    """For every key exactly one row survives, and it carries that key's highest version."""
    batch = ChangeBatch(("k", "v"), pairs)
    merged = coalesce([batch], ("k",), "v")
    best: dict[int, int] = {}
    for key, version in pairs:
        best[key] = max(best.get(key, version), version)
    assert sorted(merged.rows) == sorted(best.items())


def test_without_a_version_the_last_arrival_wins_across_batches() -> None:
    """With no version column, source order decides: the later batch's change survives."""
    first = ChangeBatch(("k", "x"), [(1, "old"), (2, "keep")])
    second = ChangeBatch(("k", "x"), [(1, "new")], [Op.DELETE])
    merged = coalesce([first, second], ("k",), None)
    assert dict(zip(merged.rows, merged.ops or [], strict=True)) == {
        (1, "new"): Op.DELETE,
        (2, "keep"): Op.UPSERT,
    }


def test_an_older_version_arriving_later_does_not_win() -> None:
    """An out-of-order arrival (version 3 after version 5) keeps version 5."""
    merged = coalesce(
        [ChangeBatch(("k", "v"), [(1, 5)]), ChangeBatch(("k", "v"), [(1, 3)])], ("k",), "v"
    )
    assert list(merged.rows) == [(1, 5)]
