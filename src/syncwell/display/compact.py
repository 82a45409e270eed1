"""Numbers and durations short enough for a narrow terminal: 12.3k, 1.2M, 3m 20s."""

from __future__ import annotations

__all__ = ["count", "duration", "per_second"]

_UNITS = ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k"))
_SPANS = (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1))


def count(value: int) -> str:
    """`value` in at most four characters and a unit: 999, 5.7k, 12.3k, 123k, 1.2M."""
    for size, unit in _UNITS:
        # 999,999 is 1M, not 1000k; 999 stays 999.
        if abs(value) >= size or (size > 1_000 and abs(value) >= size * 0.9995):
            scaled = value / size
            text = f"{scaled:.0f}" if abs(scaled) >= 100 else f"{scaled:.1f}".removesuffix(".0")
            return text + unit
    return str(value)


def per_second(value: float) -> str:
    """A rate: tenths below 10 (0.4, 7.5), then whole (261), then as `count` (1.2k)."""
    if value < 10:
        return f"{value:.1f}".removesuffix(".0")
    return count(round(value))


def duration(seconds: float) -> str:
    """A duration in its two largest units: 45s, 3m 20s, 2h 5m, 3d 4h (1h, not 1h 0m)."""
    whole = max(0, round(seconds))
    for at, (unit, size) in enumerate(_SPANS):
        if whole >= size or unit == "s":
            text = f"{whole // size}{unit}"
            if unit == "s":
                return text
            smaller, next_size = _SPANS[at + 1]
            rest = whole % size // next_size
            return f"{text} {rest}{smaller}" if rest else text
    raise AssertionError("unreachable: seconds are the last unit")
