"""The newest records a flow has read: what the incremental filter's self-check asks back for.

A checkpoint keeps the key and cursor of the few records with the largest cursors seen so
far, as ``"newest": [[key, cursor], ...]``, newest first. The self-check asks the filter for
records since just before the oldest of them; a filter that works returns them (or newer
versions of them).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncwell.connectors.http.cursors import micros
from syncwell.types import JSONValue

__all__ = ["KEPT", "Known", "known_from", "noted", "to_json"]

KEPT = 5
"""Records kept: enough that one deleted since is no false alarm, few for a small checkpoint."""


@dataclass(frozen=True, slots=True)
class Known:
    """One record known to exist: its key (as the engine writes it) and its cursor."""

    key: str
    cursor: JSONValue
    at_us: int


def noted(newest: tuple[Known, ...], record: Known) -> tuple[Known, ...]:
    """`newest` with `record` in it when it is among the newest `KEPT`, newest first.

    A key appears once, with its newest cursor.
    """
    if len(newest) >= KEPT and record.at_us <= newest[-1].at_us:
        return newest  # the common case of a long read: nothing to do
    if newest and record.at_us > newest[0].at_us and all(k.key != record.key for k in newest):
        return (record, *newest[: KEPT - 1])  # a read in cursor order: each record is newest
    same = next((known for known in newest if known.key == record.key), None)
    if same is not None and same.at_us >= record.at_us:
        return newest
    others = [known for known in newest if known.key != record.key]
    ranked = sorted([*others, record], key=lambda known: (-known.at_us, known.key))
    return tuple(ranked[:KEPT])


def to_json(newest: tuple[Known, ...]) -> list[JSONValue]:
    """The checkpoint's form of `newest`."""
    return [[known.key, known.cursor] for known in newest]


def known_from(value: JSONValue) -> tuple[Known, ...]:
    """`newest` read back from a checkpoint; entries that make no sense are dropped."""
    if not isinstance(value, list):
        return ()
    found: list[Known] = []
    for entry in value:
        if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str):
            at = micros(entry[1])
            if at is not None:
                found.append(Known(entry[0], entry[1], at))
    return tuple(sorted(found, key=lambda known: (-known.at_us, known.key))[:KEPT])
