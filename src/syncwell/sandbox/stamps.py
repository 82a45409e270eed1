"""Timestamps the tools write: strictly increasing, so each one is also a version and a cursor."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Literal

__all__ = ["VersionClock", "format_stamp", "parse_date", "parse_instant", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# "z" is 2024-05-01T12:00:00.000001Z (the CRM, the email platform); "offset" is
# 2024-05-01T12:00:00.000001+00:00 (the project tool), because real tools disagree.
Style = Literal["z", "offset"]


def format_stamp(micros: int, style: Style) -> str:
    """The fixed-width ISO-8601 text of a time in microseconds since the epoch.

    Fixed width matters: the tools compare these strings in SQL, and equal widths make text
    order the same as time order.
    """
    text = (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z") if style == "z" else text


def parse_instant(text: str) -> datetime | None:
    """An aware UTC datetime from ISO-8601 text (naive means UTC), or None if unparseable."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(text: str) -> date | None:
    """A calendar date from `YYYY-MM-DD`, or None."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, without float round-off."""
    return (value - _EPOCH) // timedelta(microseconds=1)


class VersionClock:
    """Hands out one timestamp per write, each strictly later than the last.

    Two writes in the same microsecond (a batch) get consecutive microseconds, so `updated_at`
    orders every write of a tool and never ties.
    """

    def __init__(self, style: Style, *, now: Callable[[], float] = time.time) -> None:
        self.style: Style = style
        self._now = now
        self._last = 0

    def observe(self, stamp: str | None) -> None:
        """Never hand out a stamp at or before `stamp` (one read back from disk at start)."""
        instant = parse_instant(stamp) if stamp else None
        if instant is not None:
            self._last = max(self._last, to_micros(instant))

    def next_micros(self) -> int:
        """The next version, in microseconds since the epoch."""
        self._last = max(self._last + 1, int(self._now() * 1_000_000))
        return self._last

    def next(self) -> str:
        """The next version as text in this clock's style."""
        return format_stamp(self.next_micros(), self.style)

    def text(self, instant: datetime) -> str:
        """`instant` as text in this clock's style, for comparing with stored stamps."""
        return format_stamp(to_micros(instant), self.style)
