"""Records from two systems, compared as a first sync compares them: by match key and by a
digest of the values the flow sends.

Two systems rarely write one value the same way: an id as ``42`` and ``"42"``, an instant as
``2026-11-27 10:00:00.5`` and ``2026-11-27T10:00:00.500000Z``, a flag as ``1`` and ``true``.
Each value is brought to one form first (`syncwell.versions.canonical`: instants and numbers
as numbers, objects as sorted JSON; here also flags as numbers and dates as instants). A
difference that survives that is a difference: the record is written, never skipped in doubt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence

import msgpack

from syncwell.types import Row
from syncwell.versions import canonical

__all__ = ["digest_of", "match_text", "normal"]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_EXACT = 2**53


def normal(value: object) -> object:
    """`value` in the one form both sides' values are compared in; None stays None."""
    # The common kinds first, as `canonical` takes them: every record of a first sync comes
    # through here, field by field, on both sides.
    if isinstance(value, str):
        if not value[:1].isdigit() and value[:1] != "-":
            return value  # neither a number nor an instant: text, as canonical keeps it
        if _DATE.fullmatch(value):
            return canonical(dt.date.fromisoformat(value))  # a date as text, as its instant
        return canonical(value)
    if isinstance(value, int):
        # A flag too (a bool is an int): SQLite keeps 1, a tool true. Past 2**53 a float
        # would make two ids one: such a number compares as its digits, as text does.
        return float(value) if -_EXACT < value < _EXACT else str(value)
    if value is None:
        return None
    return canonical(value)


def digest_of(columns: Sequence[str], row: Row) -> bytes:
    """A digest of a record's values by column name, in their normal form.

    Blind to column order, and to a column that is absent or null: a tool that leaves empty
    fields out of its answer holds the same record as a table with NULL there.
    """
    values = []
    for column, value in zip(columns, row, strict=True):
        found = normal(value)
        if found is not None:
            values.append((column, found))
    values.sort(key=lambda pair: pair[0])
    packed: bytes = msgpack.packb(values, default=str)
    return hashlib.blake2b(packed, digest_size=16).digest()


def match_text(values: Sequence[object]) -> str | None:
    """The text two records' match keys are compared by; None when a value is missing (such
    a record matches nothing)."""
    parts: list[object] = []
    for value in values:
        found = normal(value)
        if found is None or found == "":
            return None
        if isinstance(found, float) and found.is_integer():
            found = int(found)  # 42, 42.0 and "42" are one key
        parts.append(found)
    if len(parts) == 1 and not isinstance(parts[0], str):
        return str(parts[0])  # a number: its digits (a key is most often one number)
    return json.dumps(parts, default=str, separators=(",", ":"))
