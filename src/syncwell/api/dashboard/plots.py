"""An integration's measurements as the five plots of its page: freshness lag, throughput,
error rate and backlog, one line per flow; and retries and refused records, one line per kind.
With `mode: cdc` flows, a sixth: the WAL each one's replication slot kept.

The measures mean what the constraint analysis means by them (analyze/judge.py): the lag of a
batch is recorded once per batch, so its mean is over batches; the error rate is the share of
requests (write attempts and reads) that failed, the analysis' retry share. The backlog is the
most changes a bucket's samples found waiting in the journal (`backlog_max`).

The stored minutes (or hours, for a week) are added up into about a hundred buckets, so a
plot keeps its shape at any window and its markup stays small. A bucket where the engine did
not run (nothing measured) is a gap, not a zero: a stopped engine is not an idle flow.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from syncwell.analyze.words import duration
from syncwell.api.dashboard.charts import Series, Threshold, line_chart
from syncwell.workspace import Flow, Mode

__all__ = [
    "IntegrationSeries",
    "bucket_s",
    "integration_plots",
    "integration_series",
    "slo_lines",
]

_PER_MINUTE = {
    "transient": "retries_transient",
    "rate limited": "retries_rate_limited",
    "timeout": "retries_timeout",
    "refused": "dead_lettered",
}
"""The lines of the last plot: retries by class, and records refused for good."""
_FAILED = ("retries_transient", "retries_rate_limited", "retries_timeout", "read_failures")
_SUMMED = (
    "measured_s",
    "changes_out",
    "batches",
    "lag_sum_s",
    "attempts",
    "reads",
    "dead_lettered",
    *_FAILED,
)

_LARGEST = ("backlog_max",)
"""Gauges: a bucket keeps the largest of its minutes (or hours), not their sum."""
_SLOT = "slot_retained_bytes_max"
"""A CDC flow's slot: the most WAL it kept (a gauge like the backlog, unknown below 0)."""
_MB = 1024 * 1024

_Sums = dict[str, dict[int, dict[str, float]]]
"""flow -> bucket start -> column -> sum."""


def bucket_s(window_s: float) -> int:
    """The width of a plot's buckets for a window: about a hundred of them, in whole minutes
    (whole hours past two days, where the store keeps hours)."""
    if window_s > 2 * 86400:
        return 3600 * max(1, round(window_s / 100 / 3600))
    return 60 * max(1, round(window_s / 100 / 60))


@dataclass(frozen=True, slots=True)
class IntegrationSeries:
    """The four measures of an integration's flows over a window, bucketed."""

    lag: list[Series]
    """Mean freshness lag of the batches written, s, per flow."""
    throughput: list[Series]
    """Changes written per second measured, per flow."""
    errors: list[Series]
    """Requests that failed (write attempts retried, reads failed), of all of them, per flow."""
    retries: list[Series]
    """Retries per minute measured by class, and records refused, over all the flows."""
    backlog: list[Series]
    """The most changes waiting in the journal at a sample, per flow."""
    slots: list[Series]
    """The most WAL a `mode: cdc` flow's replication slot kept at a sample, MB, per CDC
    flow (measure/slots.py); empty when no flow is one."""


def integration_series(
    rows: Iterable[Mapping[str, object]],
    flows: Sequence[str],
    *,
    since: float,
    until: float,
    cdc: Sequence[str] = (),
) -> IntegrationSeries:
    """The measures of `flows` from their measured `rows` (store `Measurements.history`);
    `cdc` names those whose replication slot is measured."""
    width = bucket_s(until - since)
    sums = _sum(rows, width)
    # Each bucket's point is at its middle, kept inside the window (the newest has not ended).
    starts = [
        (start, min(max(start + width / 2, since), until))
        for start in range(int(since // width * width), int(until), width)
    ]

    def per_flow(measure: str, names: Sequence[str] = flows) -> list[Series]:
        return [
            Series(name, [(x, _value(measure, sums[name].get(start))) for start, x in starts])
            for name in names
        ]

    return IntegrationSeries(
        per_flow("lag"),
        per_flow("throughput"),
        per_flow("errors"),
        _retries(sums, starts),
        per_flow("backlog"),
        per_flow("slot", cdc),
    )


def integration_plots(
    rows: Iterable[Mapping[str, object]],
    flows: Mapping[str, Flow],
    *,
    since: float,
    until: float,
    backlog_unit: str = "changes waiting",
) -> list[str]:
    """The five plots (SVG) of the flows `flows` from their measured `rows` in the window;
    `backlog_unit` says what the backlog counts (the journal only, in a distributed run)."""
    cdc = [name for name, flow in flows.items() if flow.mode is Mode.CDC]
    series = integration_series(rows, list(flows), since=since, until=until, cdc=cdc)
    chart = functools.partial(line_chart, since=since, until=until)
    slots = [chart(series.slots, title="Replication slot: WAL kept", unit="MB")] if cdc else []
    return [
        chart(series.lag, title="Freshness lag (mean)", unit="s", thresholds=slo_lines(flows)),
        chart(series.throughput, title="Throughput", unit="changes/s"),
        chart(series.errors, title="Error rate", unit="%", percent=True),
        chart(series.backlog, title="Backlog", unit=backlog_unit),
        chart(series.retries, title="Retries and refused records", unit="per min"),
        *slots,
    ]


def slo_lines(flows: Mapping[str, Flow]) -> list[Threshold]:
    """One dashed line per distinct freshness SLO, labelled with its flows and coloured like
    the flow's line where one flow has it.

    One plot with each flow's own line, rather than a plot per flow: the lag plot is where
    flows are compared at a glance, and a line per SLO in its flow's colour still shows which
    flow is over its own SLO (before, every flow was drawn against the tightest SLO of the
    integration, so a 30-minute flow looked late against another flow's 15 minutes). Flows
    sharing an SLO share a line, in the text's colour, naming them all.
    """
    names = list(flows)
    by_slo: dict[float, list[str]] = defaultdict(list)
    for name, flow in flows.items():
        by_slo[flow.slo.freshness.total_seconds()].append(name)
    lines = []
    for slo_s, owners in sorted(by_slo.items()):
        # A lone flow's plot has no legend: the SLO needs no name, nor a colour of its own.
        named = f" · {', '.join(owners)}" if len(names) > 1 else ""
        own = names.index(owners[0]) if len(owners) == 1 and len(names) > 1 else None
        lines.append(Threshold(slo_s, f"SLO {duration(slo_s)}{named}", own))
    return lines


def _sum(rows: Iterable[Mapping[str, object]], width: int) -> _Sums:
    columns = (*_SUMMED, *_LARGEST)
    sums: _Sums = defaultdict(
        lambda: defaultdict(lambda: {**dict.fromkeys(columns, 0.0), _SLOT: -1.0})
    )
    for row in rows:
        bucket = sums[str(row["flow"])][int(_number(row["start"])) // width * width]
        for column in _SUMMED:
            bucket[column] += _number(row[column])
        for column in _LARGEST:
            bucket[column] = max(bucket[column], _number(row.get(column)))
        if row.get(_SLOT) is not None:
            bucket[_SLOT] = max(bucket[_SLOT], _number(row[_SLOT]))
    return sums


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _value(measure: str, bucket: Mapping[str, float] | None) -> float | None:
    """One flow's `measure` in one bucket; None where nothing was measured to tell it."""
    if bucket is None or bucket["measured_s"] <= 0:
        return None
    if measure == "lag":
        return bucket["lag_sum_s"] / bucket["batches"] if bucket["batches"] else None
    if measure == "throughput":
        return bucket["changes_out"] / bucket["measured_s"]
    if measure == "backlog":
        return bucket["backlog_max"]
    if measure == "slot":
        return bucket[_SLOT] / _MB if bucket[_SLOT] >= 0 else None
    # `reads` counts the reads that succeeded: a source that is down fails every read.
    tried = bucket["attempts"] + bucket["reads"] + bucket["read_failures"]
    failed = sum(bucket[column] for column in _FAILED)
    return min(1.0, failed / tried) if tried else None


def _retries(sums: _Sums, starts: Sequence[tuple[int, float]]) -> list[Series]:
    """Retries a minute (of the time measured) by class, and records refused, over all the
    flows: which kind of trouble, and how much."""
    series = []
    for label, column in _PER_MINUTE.items():
        points: list[tuple[float, float | None]] = []
        for start, x in starts:
            measured = [flow[start] for flow in sums.values() if start in flow]
            seconds = max((bucket["measured_s"] for bucket in measured), default=0.0)
            total = sum(bucket[column] for bucket in measured)
            points.append((x, total / (seconds / 60) if seconds > 0 else None))
        series.append(Series(label, points))
    return series
