"""Numbers as a founder reads them: "4m 30s", "18%", "1,200/min"; settings as syncwell.yaml
writes them: `flows.tasks.interval: 4m30s`."""

from __future__ import annotations

__all__ = ["duration", "percent", "rate", "setting", "yaml_duration"]


def duration(seconds: float) -> str:
    """Seconds as the two largest units that matter: 40ms, 45s, 4m 30s, 2h 5m, 3d 4h."""
    seconds = max(0.0, seconds)
    if 0 < seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    whole = round(seconds)
    for unit, size, smaller, small_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if whole >= size:
            big, rest = divmod(whole, size)
            part = rest // small_size
            return f"{big}{unit} {part}{smaller}" if part else f"{big}{unit}"
    return f"{whole}s"


def percent(share: float) -> str:
    """A share as a percentage with the precision it deserves: 0.4%, 12%, 100%."""
    value = share * 100
    if 0 < value < 0.1:
        return "<0.1%"
    if 0 < value < 10:
        return f"{value:.1f}%"
    return f"{value:.0f}%"


def rate(per_minute: float) -> str:
    """Changes per minute, or per second when there are many, or per hour when few."""
    if per_minute >= 600:
        return f"{per_minute / 60:,.0f}/s"
    if per_minute >= 1 or per_minute == 0:
        return f"{per_minute:,.0f}/min"
    return f"{per_minute * 60:,.1f}/h"


def yaml_duration(seconds: float) -> str:
    """Seconds as syncwell.yaml writes a duration: 500ms, 45s, 4m30s, 2h5m (never 0)."""
    return duration(max(seconds, 0.001)).replace(" ", "")


def setting(path: str, value: object = None) -> str:
    """A setting of syncwell.yaml by its dotted path, with the value to give it, in backticks:
    `flows.tasks.batch_size: 2000`; without a value, the place itself."""
    if value is None:
        return f"`{path}`"
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"`{path}: {shown}`"
