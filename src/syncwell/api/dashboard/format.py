"""How the dashboard's templates write times, durations and shares."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from syncwell.analyze.words import duration
from syncwell.display import clock_text

__all__ = ["FILTERS"]


def ago(at: float | None) -> str:
    """How long ago `at` was: "4m 30s ago", or "never"."""
    return "never" if at is None else f"{duration(max(0.0, time.time() - at))} ago"


def seconds(value: float | None) -> str:
    """Seconds as a duration, or a dash."""
    return "-" if value is None else duration(value)


def pretty(value: Any) -> str:
    """A record's values as indented JSON, for a person to read."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


FILTERS: dict[str, Callable[..., str]] = {
    "ago": ago,
    "clock": clock_text,
    "seconds": seconds,
    "pretty": pretty,
}
