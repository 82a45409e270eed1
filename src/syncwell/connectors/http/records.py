"""JSON records to rows and back: dotted paths name fields inside nested objects.

A column ``properties.email`` reads ``record["properties"]["email"]`` and, on the way out,
builds ``{"properties": {"email": ...}}``. Nested values (objects, lists) travel as they are.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Final

from syncwell.types import Row

__all__ = [
    "MISSING",
    "columns_of",
    "dig",
    "dumps",
    "key_text",
    "record_of",
    "row_of",
]


class _Missing:
    """The value of a path that leads nowhere (not the same as a JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def dig(value: object, path: str) -> object:
    """The value at dotted `path` in `value`, or `MISSING`; an empty path is `value` itself.

    A part made of digits indexes a list (``items.0.id``).
    """
    if not path:
        return value
    current = value
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def columns_of(
    records: Iterable[dict[str, object]], wanted: Sequence[str], needed: Sequence[str]
) -> tuple[str, ...]:
    """The columns of a page: `wanted` when given, else every top-level key, first seen first.

    `needed` (key, cursor and version paths) join an unconfigured page's columns when no
    record has them at the top level, so the engine can always key and order its rows.
    """
    if wanted:
        return tuple(wanted)
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    seen.update(dict.fromkeys(column for column in needed if column not in seen))
    return tuple(seen)


def row_of(record: dict[str, object], columns: Sequence[str]) -> Row:
    """The record's values for `columns`; a field it lacks is None."""
    return tuple(None if (value := dig(record, column)) is MISSING else value for column in columns)


def record_of(columns: Sequence[str], row: Row) -> dict[str, object]:
    """The JSON object of a row: dotted columns build nested objects.

    Raises:
        ValueError: two columns collide (``a`` holds a value and ``a.b`` wants an object).
    """
    record: dict[str, object] = {}
    for column, value in zip(columns, row, strict=True):
        *parents, leaf = column.split(".")
        target = record
        for part in parents:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"column {column} needs {part} to be an object; it holds a value")
            target = child
        if isinstance(target.get(leaf), dict) and not isinstance(value, dict):
            raise ValueError(f"column {column} collides with the nested columns under it")
        target[leaf] = value
    return record


def key_text(values: Sequence[object]) -> str:
    """A key as the engine writes it: ``42``, or ``["eu", "42"]`` for a key of several fields."""
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(value) for value in values])


def dumps(value: object) -> bytes:
    """JSON of a request body; values other sources hand over are written as APIs expect."""
    return json.dumps(value, default=_jsonable, separators=(",", ":"), allow_nan=False).encode()


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        # A JSON number, as the API most likely declares it; an integral one stays exact.
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        return as_float if math.isfinite(as_float) else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)
