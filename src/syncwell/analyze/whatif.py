"""What-if: the same analysis on a changed model (`--what-if volume=2x`).

A change is `name=value`, for every flow or, prefixed with a flow's name, for one:

    volume=2x              every flow's demand doubled
    contacts.volume=1.5x   one flow's
    interval=1m            every polled flow read every minute
    contacts.interval=30s
    contacts.mode=realtime

Volume scales demand and the requests it needs; capacity stays what was measured. A new
interval or mode clears the lateness measured under the old one: whether the flow is late
then follows from the new interval and its load alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from syncwell.analyze.facts import FlowFacts, WorkspaceFacts
from syncwell.workspace.durations import parse_duration
from syncwell.workspace.modes import Mode

__all__ = ["WhatIf", "WhatIfError", "apply_what_if", "parse_what_if"]

_SETTINGS = ("volume", "interval", "mode")


class WhatIfError(ValueError):
    """A what-if change that cannot be read; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class WhatIf:
    """One change: a setting, the flow it applies to (None: every flow), and its value."""

    setting: str
    flow: str | None
    value: float | str


def parse_what_if(texts: Sequence[str], flows: Sequence[str]) -> list[WhatIf]:
    """Read `--what-if` values, checking flow names, settings and values."""
    return [_parse_one(text, flows) for text in texts]


def _parse_one(text: str, flows: Sequence[str]) -> WhatIf:
    name, sep, value = text.partition("=")
    if not sep or not value.strip():
        raise WhatIfError(
            f"{text!r}: write setting=value, e.g. volume=2x or contacts.mode=realtime"
        )
    flow, _, setting = name.strip().rpartition(".")
    if setting not in _SETTINGS:
        raise WhatIfError(f"{text!r}: {setting!r} is not one of {', '.join(_SETTINGS)}")
    if flow and flow not in flows:
        raise WhatIfError(f"{text!r}: no flow is named {flow!r}; flows: {', '.join(flows)}")
    return WhatIf(setting, flow or None, _value(setting, value.strip(), text))


def _value(setting: str, value: str, text: str) -> float | str:
    if setting == "volume":
        try:
            factor = float(value.removesuffix("x").removesuffix("X"))
        except ValueError:
            raise WhatIfError(f"{text!r}: volume is a factor like 2x or 0.5x") from None
        if factor <= 0:
            raise WhatIfError(f"{text!r}: volume must be above 0")
        return factor
    if setting == "interval":
        try:
            seconds = parse_duration(value).total_seconds()
        except ValueError as error:
            raise WhatIfError(f"{text!r}: {error}") from None
        if seconds <= 0:
            raise WhatIfError(f"{text!r}: interval must be above 0")
        return seconds
    modes = [str(m) for m in Mode]
    if value not in modes:
        raise WhatIfError(f"{text!r}: mode is one of {', '.join(modes)}")
    return value


def apply_what_if(
    facts: WorkspaceFacts, changes: Sequence[WhatIf]
) -> tuple[WorkspaceFacts, dict[str, float]]:
    """`facts` with the changes made, and each flow's volume factor."""
    flows = dict(facts.flows)
    volumes: dict[str, float] = {}
    for change in changes:
        targets = [change.flow] if change.flow else list(flows)
        for name in targets:
            if change.setting == "volume":
                volumes[name] = volumes.get(name, 1.0) * float(change.value)
            else:
                flows[name] = _retuned(flows[name], change)
    return replace(facts, flows=flows), volumes


def _retuned(facts: FlowFacts, change: WhatIf) -> FlowFacts:
    if change.setting == "interval":
        if facts.mode not in ("poll", "batch"):
            return facts
        return replace(facts, interval_s=float(change.value), late=0)
    return replace(facts, mode=str(change.value), late=0)
