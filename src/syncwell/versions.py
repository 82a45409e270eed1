"""Versions and values in a form that compares across systems.

Two-way sync and HTTP destinations compare what one system said with what another said: an
`updated_at` read from SQLite as ``2026-11-27 10:00:00.5`` and the same instant from a CRM as
``2026-11-27T10:00:00.500000Z``; an id as ``42`` from one and ``42.0`` from another. So every
version and value is brought to one of two forms first: a number (timestamps become Unix
seconds) or text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal

__all__ = ["Comparable", "canonical", "comparable", "is_newer"]

Comparable = float | str
"""A version in comparable form: a number (Unix seconds for instants) or text."""

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", re.ASCII)
_NUMBER = re.compile(r"-?\d{1,15}(\.\d+)?", re.ASCII)


def comparable(value: object) -> Comparable | None:
    """`value` as a version that orders the same way in every system (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return number if math.isfinite(number) else None  # NaN orders nothing: no version
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value)  # "10" is newer than "9", as numbers
    if isinstance(value, dt.datetime):
        return _seconds(value)
    if isinstance(value, dt.date):
        return _seconds(dt.datetime(value.year, value.month, value.day))
    text = str(value)
    if _INSTANT.match(text):
        try:
            return _seconds(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
        except ValueError:
            return text
    return text


def canonical(value: object) -> object:
    """`value` as echo detection compares it: instants and numbers as numbers, the rest as JSON."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return comparable(value)


def is_newer(candidate: Comparable | None, than: Comparable | None) -> bool:
    """Whether `candidate` is a newer version than `than`.

    A version that can't be compared (none known, or a number against text) counts as newer:
    when in doubt the change is applied, never silently dropped.
    """
    if than is None or candidate is None:
        return True
    if isinstance(candidate, str) != isinstance(than, str):
        return True
    return candidate > than  # type: ignore[operator]  # same kind, checked above


def _seconds(instant: dt.datetime) -> float:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)  # naive instants in a database are UTC
    return instant.timestamp()
