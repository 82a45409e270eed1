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
from typing import Literal

__all__ = ["Comparable", "VersionKind", "canonical", "comparable", "is_newer", "version_kind"]

Comparable = float | str
"""A version in comparable form: a number (Unix seconds for instants) or text."""

VersionKind = Literal["time", "date", "number"]
"""What a version sent from outside is: a time or a date (ISO 8601 text), or a number."""

_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", re.ASCII)
_NUMBER = re.compile(r"-?\d{1,15}(\.\d+)?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def comparable(value: object) -> Comparable | None:
    """`value` as a version that orders the same way in every system (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        number = _float(value)
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


def version_kind(value: object) -> VersionKind | None:
    """What `value` is as a version sent from outside (a webhook's), read as `comparable` reads it.

    ``"time"``: ISO 8601 text with a date and a time (``2026-12-07T13:00:00Z``), compared as
    Unix seconds. ``"date"``: an ISO 8601 date alone (``2026-12-07``), compared as text, which
    orders dates. ``"number"``: a finite number, or text holding one (``"42"``). None for
    anything no order can be read from: true and false (bool is no number here), an object, a
    list, a number too large for a float, other text (``"yesterday"``, ``2026-13-45T10:00``).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return "number" if math.isfinite(_float(value)) else None
    if not isinstance(value, str):
        return None
    if _NUMBER.fullmatch(value):
        return "number"
    if _DATE.fullmatch(value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return None
        return "date"
    compared = comparable(value) if _INSTANT.match(value) else None
    return "time" if isinstance(compared, float) else None


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


def _float(number: int | float | Decimal) -> float:
    try:
        return float(number)
    except OverflowError:  # an integer past a float's range (JSON allows any digits)
        return math.inf


def _seconds(instant: dt.datetime) -> float:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)  # naive instants in a database are UTC
    return instant.timestamp()
