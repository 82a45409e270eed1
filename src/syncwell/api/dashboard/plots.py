"""An integration's measurements as the four plots of its page: freshness lag, throughput,
error rate, one line per flow; and retries and refused records, one line per kind.

The measures mean what the constraint analysis means by them (analyze/judge.py): the lag of a
batch is recorded once per batch, so its mean is over batches; the error rate is the share of
requests (write attempts and reads) that failed, the analysis' retry share.

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
from syncwell.api.dashboard.charts import Series, line_chart
from syncwell.workspace import Flow

__all__ = ["IntegrationSeries", "bucket_s", "integration_plots", "integration_series"]

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


def integration_series(
    rows: Iterable[Mapping[str, object]], flows: Sequence[str], *, since: float, until: float
) -> IntegrationSeries:
    """The measures of `flows` from their measured `rows` (store `Measurements.history`)."""
    width = bucket_s(until - since)
    sums = _sum(rows, width)
    # Each bucket's point is at its middle, kept inside the window (the newest has not ended).
    starts = [
        (start, min(max(start + width / 2, since), until))
        for start in range(int(since // width * width), int(until), width)
    ]

    def per_flow(measure: str) -> list[Series]:
        return [
            Series(name, [(x, _value(measure, sums[name].get(start))) for start, x in starts])
            for name in flows
        ]

    return IntegrationSeries(
        per_flow("lag"), per_flow("throughput"), per_flow("errors"), _retries(sums, starts)
    )


def integration_plots(
    rows: Iterable[Mapping[str, object]],
    flows: Mapping[str, Flow],
    *,
    since: float,
    until: float,
) -> list[str]:
    """The four plots (SVG) of the flows `flows` from their measured `rows` in the window."""
    series = integration_series(rows, list(flows), since=since, until=until)
    slo_s = min(flow.slo.freshness.total_seconds() for flow in flows.values())
    chart = functools.partial(line_chart, since=since, until=until)
    return [
        chart(
            series.lag,
            title="Freshness lag (mean)",
            unit="s",
            threshold=slo_s,
            threshold_label=f"SLO {duration(slo_s)}",
        ),
        chart(series.throughput, title="Throughput", unit="changes/s"),
        chart(series.errors, title="Error rate", unit="%", percent=True),
        chart(series.retries, title="Retries and refused records", unit="per min"),
    ]


def _sum(rows: Iterable[Mapping[str, object]], width: int) -> _Sums:
    sums: _Sums = defaultdict(lambda: defaultdict(lambda: dict.fromkeys(_SUMMED, 0.0)))
    for row in rows:
        bucket = sums[str(row["flow"])][int(_number(row["start"])) // width * width]
        for column in _SUMMED:
            bucket[column] += _number(row[column])
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
