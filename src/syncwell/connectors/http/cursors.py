"""Cursor values as moments in time, read from records (`since` writes them into filters).

APIs write "updated at" as ISO 8601 text, Unix seconds or Unix milliseconds, as numbers or as
text. Every form is read into whole microseconds since the epoch, so values of any form
compare exactly (a float of seconds would not, at microsecond precision).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal

__all__ = ["CursorFormat", "micros"]

CursorFormat = Literal["iso", "unix_s", "unix_ms"]
"""The formats of the `param:`/`format:` shorthand of an incremental filter."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NUMBER = re.compile(r"^-?\d{1,17}(\.\d{1,9})?$")
# Unix seconds pass 1e11 only in the year 5138; milliseconds passed it in 1973.
_MILLIS_FROM = 1e11
_MAX_MICROS = (dt.datetime.max.replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)


def micros(value: object) -> int | None:
    """The moment `value` names, in microseconds since the epoch; None when it names none.

    Numbers (or numeric text) above 1e11 are milliseconds, others seconds. ISO text without
    an offset is taken as UTC.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _from_number(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMBER.match(text):
        return _from_number(float(text))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _from_number(number: float) -> int | None:
    if not math.isfinite(number):
        return None
    seconds = number / 1000 if abs(number) >= _MILLIS_FROM else number
    result = round(seconds * 1_000_000)
    return result if abs(result) <= _MAX_MICROS else None
