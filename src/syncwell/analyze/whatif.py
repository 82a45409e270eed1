"""What-if: the same analysis on a changed model (`--what-if volume=2x`).

A change is `name=value`, for every flow or, prefixed with a flow's name, for one:

    volume=2x              every flow's demand doubled
    contacts.volume=1.5x   one flow's
    interval=1m            every polled flow read every minute
    contacts.interval=30s
    contacts.mode=realtime
    orders.mode=cdc        a PostgreSQL source's flow by change data capture (or back to poll)

Volume scales demand and the requests it needs; capacity stays what was measured. A new
interval or mode clears the lateness measured under the old one: whether the flow is late
then follows from the new interval and its load alone. A switch between polling and CDC
also estimates the flow's lag under the new mode (analyze/lagmodel.py): its changes count
late when that estimate passes the freshness SLO, and `what_if_estimates` says how it compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from syncwell.analyze.facts import FlowFacts, WorkspaceFacts
from syncwell.analyze.lagmodel import comparison, estimate_lag, measured_stream
from syncwell.workspace.durations import parse_duration
from syncwell.workspace.modes import DEFAULT_INTERVALS, Mode

__all__ = ["WhatIf", "WhatIfError", "apply_what_if", "parse_what_if", "what_if_estimates"]

_SWITCHES = frozenset({"poll", "batch", "cdc"})
"""Modes whose lag a switch between them estimates (lagmodel.py)."""

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
    """`facts` with the changes made, and each flow's volume factor.

    Raises:
        WhatIfError: a flow switched to `cdc` whose source is not PostgreSQL.
    """
    flows = dict(facts.flows)
    volumes: dict[str, float] = {}
    for change in changes:
        targets = [change.flow] if change.flow else list(flows)
        for name in targets:
            if change.setting == "volume":
                volumes[name] = volumes.get(name, 1.0) * float(change.value)
            else:
                flows[name] = _retuned(flows[name], change, facts)
    stream = measured_stream(facts.flows)
    for name, before in facts.flows.items():
        after = flows[name]
        if _switched(before, after) and (guess := estimate_lag(after, after.mode, stream)):
            late = after.changes_out if guess.seconds > after.freshness_slo_s else 0
            flows[name] = replace(
                after,
                late=late,
                lag_sum_s=guess.seconds * after.batches,
                lag_max_s=guess.seconds,
            )
    return replace(facts, flows=flows), volumes


def what_if_estimates(facts: WorkspaceFacts, changed: WorkspaceFacts) -> tuple[str, ...]:
    """A line per flow switched between polling and CDC: its lag now, and as estimated."""
    stream = measured_stream(facts.flows)
    lines = []
    for name, before in facts.flows.items():
        after = changed.flows[name]
        if _switched(before, after) and (guess := estimate_lag(after, after.mode, stream)):
            lines.append(comparison(before, after, guess))
    return tuple(lines)


def _switched(before: FlowFacts, after: FlowFacts) -> bool:
    return before.mode != after.mode and {before.mode, after.mode} <= _SWITCHES


def _retuned(facts: FlowFacts, change: WhatIf, workspace: WorkspaceFacts) -> FlowFacts:
    if change.setting == "interval":
        if facts.mode not in ("poll", "batch"):
            return facts
        return replace(facts, interval_s=float(change.value), late=0)
    mode = str(change.value)
    if mode == facts.mode:
        return facts
    if mode == "cdc":
        kind = workspace.workspace.systems[facts.source].kind
        if kind != "postgres":
            raise WhatIfError(
                f"{facts.name}.mode=cdc: CDC reads a PostgreSQL source by logical "
                f"replication, and {facts.source} is a {kind} system"
            )
        return replace(facts, mode=mode, interval_s=None, late=0)
    interval = facts.interval_s
    if interval is None and (default := DEFAULT_INTERVALS[Mode(mode)]) is not None:
        interval = default.total_seconds()  # a CDC flow has none: the mode's default
    return replace(facts, mode=mode, interval_s=interval, late=0)
