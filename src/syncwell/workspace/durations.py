"""Durations as people write them in syncwell.yaml: ``500ms``, ``30s``, ``5m``, ``1h30m``, ``1d``.

A plain number means seconds. Parts go from the largest unit to the smallest, each at most once,
so every duration has one spelling and `format_duration` can print what `parse_duration` reads.
Amounts are summed as decimals, not floats, so ``0.1s`` is exactly 100 milliseconds.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "ACCEPTED_FORMS",
    "Duration",
    "PositiveDuration",
    "format_duration",
    "parse_duration",
]

ACCEPTED_FORMS = "500ms, 30s, 5m, 4h, 1d, 1h30m, or a plain number of seconds"

# Microseconds per unit, largest first: the order a duration's parts must follow.
_UNITS: dict[str, int] = {
    "d": 86_400_000_000,
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
}
_ORDER = list(_UNITS)
# "ms" is tried before "m" and "s" so that "5ms" is never read as five minutes and an "s".
_PART = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|d|h|m|s)")
_NUMBER = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError(f"must be longer than zero; write one like {ACCEPTED_FORMS}")
    return value


def parse_duration(value: object) -> timedelta:
    """Read a duration from text (``1h30m``), a number of seconds, or a `timedelta`.

    Raises:
        ValueError: the value is not a duration, is negative, or is too large; the message
            shows the accepted forms.
    """
    if isinstance(value, timedelta):
        micros = _micros_of(value)
    elif isinstance(value, bool):
        # bool is an int to Python, but `interval: true` is a mistake, not one second.
        raise ValueError(f"expected a duration ({ACCEPTED_FORMS}), got {str(value).lower()}")
    elif isinstance(value, int | float):
        micros = _micros_of_number(value)
    elif isinstance(value, str):
        micros = _micros_of_text(value)
    else:
        raise ValueError(f"expected a duration ({ACCEPTED_FORMS}), got {type(value).__name__}")
    if micros < 0:
        raise ValueError(f"a duration cannot be negative; write one like {ACCEPTED_FORMS}")
    try:
        return timedelta(microseconds=micros)
    except OverflowError:
        raise ValueError(f"duration {value!r} is too large (over 999999999 days)") from None


def format_duration(value: timedelta) -> str:
    """Write a duration the way `parse_duration` reads it, largest units first (``1h30m``)."""
    micros = _micros_of(value)
    if micros < 0:
        return "-" + format_duration(-value)
    if micros == 0:
        return "0s"
    parts: list[str] = []
    for unit in _ORDER[:-1]:
        amount, micros = divmod(micros, _UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    if micros:
        millis = Decimal(micros) / _UNITS["ms"]
        parts.append(f"{_plain(millis)}ms")
    return "".join(parts)


def _micros_of(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _micros_of_number(value: float) -> int:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a duration ({ACCEPTED_FORMS}), got {value!r}")
    return _round(Decimal(value) * _UNITS["s"])


def _micros_of_text(text: str) -> int:
    number = _NUMBER.fullmatch(text)
    if number:
        return _round(Decimal(number.group(1)) * _UNITS["s"])
    total, position, last_rank = Decimal(0), 0, -1
    for match in _PART.finditer(text):
        if match.start() != position:
            break
        rank = _ORDER.index(match.group(2))
        if rank <= last_rank:
            raise ValueError(
                f"duration {text!r}: write its parts from the largest unit to the smallest, "
                f"each once (like 1h30m); accepted forms: {ACCEPTED_FORMS}"
            )
        total += Decimal(match.group(1)) * _UNITS[match.group(2)]
        position, last_rank = match.end(), rank
    if last_rank < 0 or text[position:].strip():
        raise ValueError(f"{text!r} is not a duration; accepted forms: {ACCEPTED_FORMS}")
    return _round(total)


def _round(micros: Decimal) -> int:
    try:
        return int(micros.to_integral_value())
    except (InvalidOperation, OverflowError):
        raise ValueError(f"duration is too large; accepted forms: {ACCEPTED_FORMS}") from None


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A pydantic field type: a duration as written in the file."""
PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
"""A pydantic field type: a duration longer than zero."""
