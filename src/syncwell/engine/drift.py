"""Whether a value read back is the value that was sent, and what a read-back found.

A destination rarely hands a value back in the type it was sent: a number written as text
comes back a number, a timestamp comes back in another zone or format, a boolean as 1, JSON
as text. So both sides are canonicalised before they are compared:

* null, empty text and a field the record does not hold at all are one "nothing";
* numbers and text that reads as a number are numbers (``5``, ``5.0``, ``"5"``,
  ``Decimal("5.00")``), equal within a relative 1e-6 (a float kept in 32 bits);
* booleans are the numbers 1 and 0, and so are the texts ``true``/``t`` and ``false``/``f``;
* timestamps and ISO text are instants (a naive one is UTC), equal within a second (tools
  keep whole seconds or milliseconds); a date is its midnight;
* text is compared without surrounding whitespace, JSON text as the value it holds.

What is left different is drift: the destination did not keep what it was told.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from syncwell.connectors.verify import ABSENT, ReadRecords, key_text
from syncwell.types import ChangeBatch, StreamSpec
from syncwell.versions import comparable, is_newer

__all__ = ["Compared", "compare", "same", "shown"]

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}|$)", re.ASCII)
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?", re.ASCII)
_TRUE = frozenset({"true", "t"})
_FALSE = frozenset({"false", "f"})
_SAME_INSTANT_S = 1.0
_CLOCKS_APART_S = 1.0
"""How far a tool's clock may be ahead of ours before a change it stamped after our write is
taken for one made after it."""
_SAME_NUMBER = Decimal("1e-6")
_EXCERPT = 200
_EXACT = frozenset({str, int, bool, Decimal, dt.datetime, dt.date})
"""Types whose equal values are the same value (a float's NaN is not equal to itself)."""


@dataclass(frozen=True, slots=True)
class _Instant:
    at: dt.datetime


def same(sent: object, read: object) -> bool:
    """Whether `read` holds what `sent` did, once both are canonical (the module says how)."""
    if type(sent) is type(read) and type(sent) in _EXACT and sent == read:
        return True  # the common case, a database's or a faithful tool's: no canonical form
    left, right = _canonical(sent), _canonical(read)
    if isinstance(left, _Instant) and isinstance(right, _Instant):
        return abs((left.at - right.at).total_seconds()) < _SAME_INSTANT_S
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return abs(left - right) <= max(abs(left), abs(right)) * _SAME_NUMBER
    return left == right


def _canonical(value: object) -> object:
    if value is None or value is ABSENT:
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else repr(value)
    if isinstance(value, dt.datetime):
        return _Instant(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date):
        return _Instant(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(name): _canonical(part) for name, part in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(part) for part in value]
    return str(value)


def _text(text: str) -> object:
    stripped = text.strip()
    lower = stripped.lower()
    if not stripped:
        return None
    if lower in _TRUE or lower in _FALSE:
        return Decimal(lower in _TRUE)
    if _NUMBER.fullmatch(stripped):  # plain numbers only (not "1e3", not "nan")
        return Decimal(stripped)
    if _INSTANT.match(stripped):
        try:
            return _canonical(dt.datetime.fromisoformat(stripped))
        except ValueError:
            return stripped
    if stripped[0] in "[{":
        try:
            return _canonical(json.loads(stripped))
        except ValueError:
            return stripped
    return stripped


def shown(value: object) -> str:
    """A value as JSON text for people, cut short; a field the record lacks is `absent`."""
    if value is ABSENT:
        return "absent"
    text = json.dumps(value, default=str)
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}..."


@dataclass(slots=True)
class Compared:
    """What reading back one batch of written records found.

    Attributes:
        verified: records read back and compared.
        drifted: of those, records with a field that came back different, or gone.
        missing: of those, records the destination did not hold at all.
        unread: records that could not be read (a transient failure): no proof either way.
        superseded: records the destination already holds a newer version of.
        fields: per field, the records it came back different in.
        examples: per field, the newest record it drifted in: (key, sent, read) as text.
    """

    verified: int = 0
    drifted: int = 0
    missing: int = 0
    unread: int = 0
    superseded: int = 0
    fields: Counter[str] = field(default_factory=Counter)
    examples: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def compare(
    batch: ChangeBatch,
    found: ReadRecords,
    spec: StreamSpec,
    ignore: frozenset[str] = frozenset(),
    written_at: float | None = None,
) -> Compared:
    """Compare each record of `batch` (as written: upserts, rows of values) with what the
    destination held when read back (`found`).

    A record is not judged when the destination holds a newer `spec.version` than was
    written (its own guard kept it), or when its own last change (`spec.cursor`, a two-way
    pair's tool cursor) is later than `written_at`: someone changed it there since.
    """
    key, version, changed = spec.key, spec.version, spec.cursor
    result = Compared()
    at = [batch.columns.index(column) for column in key]
    for row in batch.rows:
        text = key_text([row[i] for i in at])
        if text not in found:
            result.unread += 1
            continue
        held = found[text]
        result.verified += 1
        if held is None:
            result.drifted += 1
            result.missing += 1
            continue
        sent = dict(zip(batch.columns, row, strict=True))
        if (version is not None and _newer_there(sent.get(version), held.get(version, ABSENT))) or (
            changed is not None and _changed_after(held.get(changed, ABSENT), written_at)
        ):
            result.verified -= 1
            result.superseded += 1  # a later write landed first: nothing to judge here
            continue
        differed = [
            column
            for column, value in held.items()
            if column in sent and column not in ignore and not same(sent[column], value)
        ]
        if differed:
            result.drifted += 1
            for column in differed:
                result.fields[column] += 1
                result.examples[column] = (text, shown(sent[column]), shown(held[column]))
    return result


def _changed_after(held: object, written_at: float | None) -> bool:
    """Whether the destination stamped the record's last change after the write finished."""
    at = _canonical(held)
    if written_at is None or not isinstance(at, _Instant):
        return False
    return at.at.timestamp() > written_at + _CLOCKS_APART_S


def _newer_there(sent: object, held: object) -> bool:
    """Whether the destination holds a newer version than the one written (its own guard
    kept it); a version it lacks, or cannot be compared, is not newer."""
    if held is ABSENT or held is None or sent is None:
        return False
    theirs, ours = comparable(held), comparable(sent)
    if theirs is None or ours is None or isinstance(theirs, str) != isinstance(ours, str):
        return False
    return is_newer(theirs, ours)
