"""The newest records a checkpoint keeps for the filter's self-check."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncwell.connectors.http.newest import KEPT, Known, known_from, noted, to_json

SEEN = st.lists(st.tuples(st.integers(0, 11), st.integers(0, 49)), max_size=40)


@given(seen=SEEN)
def test_the_newest_distinct_keys_are_kept_each_with_its_newest_cursor(
    seen: list[tuple[int, int]],
) -> None:
    """Whatever the order records come in, the five largest cursors of distinct keys stay."""
    newest: tuple[Known, ...] = ()
    best: dict[str, int] = {}
    for key, at in seen:
        newest = noted(newest, Known(f"k{key}", f"{at}", at))
        best[f"k{key}"] = max(at, best.get(f"k{key}", at))
    assert [known.at_us for known in newest] == sorted(best.values(), reverse=True)[:KEPT]
    assert all(best[known.key] == known.at_us for known in newest)
    assert len({known.key for known in newest}) == len(newest)


def test_a_checkpoint_round_trip_drops_what_makes_no_sense() -> None:
    """Entries without a readable cursor or a text key are dropped when read back."""
    kept = noted((), Known("c1", "2024-01-01T00:00:00Z", 1_704_067_200_000_000))
    assert known_from(to_json(kept)) == kept
    assert known_from([["c2", "never"], [3, "2024-01-01T00:00:00Z"], "x"]) == ()
    assert known_from(None) == ()
