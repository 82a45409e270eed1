"""Prometheus exposition of a running engine: `syncwell_*` metrics, read at scrape time.

The engine already counts everything per flow (its progress and policies); a collector reads
those counts when Prometheus scrapes, so measuring costs nothing per record or per batch.
Labels: workspace, integration (the external system) and flow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncwell.measure.samples import FlowSample

__all__ = ["SyncwellCollector"]

_LABELS = ("workspace", "integration", "flow")


_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("changes_read", "read", "Changes read from the source and journaled."),
    (
        "changes_settled",
        "settled",
        "Changes taken off the journal: written, dead-lettered, or dropped before writing.",
    ),
    ("changes_written", "written", "Changes written to the destination: delivered."),
    ("dead_letters", "dead_lettered", "Dead letters made, each once (docs/measurements.md)."),
    ("failed_attempts", "failed_attempts", "Write attempts that failed."),
    ("webhook_changes", "webhook_changes", "Changes that arrived by webhook."),
    ("echoes", "echoes", "Changes dropped as syncwell's own writes coming back."),
    ("stale_changes", "stale", "Changes dropped as older than the destination's."),
    ("missed_by_webhooks", "missed_by_webhooks", "Changes reconciliation found webhooks missed."),
)


class SyncwellCollector(Collector):
    """Turns `FlowSample`s into metric families on every scrape.

    Args:
        workspace: the workspace's name (a label on every metric).
        samples: called at each scrape for the flows' current samples.
    """

    def __init__(self, workspace: str, samples: Callable[[], Iterable[FlowSample]]) -> None:
        self._workspace = workspace
        self._samples = samples

    def collect(self) -> Iterator[Metric]:
        samples = list(self._samples())
        for name, attribute, help_text in _COUNTERS:
            family = CounterMetricFamily(f"syncwell_{name}", help_text, labels=_LABELS)
            for sample in samples:
                family.add_metric(self._labels(sample), float(getattr(sample, attribute)))
            yield family
        yield self._retries(samples)
        yield from self._verified(samples)
        yield self._gauge(
            samples, "dead_letters_open", "Dead letters waiting to be replayed or discarded.",
            lambda s: float(s.dead_letters_open),
        )  # fmt: skip
        yield self._gauge(
            samples, "backlog_changes", "Changes journaled and not yet delivered.",
            lambda s: float(s.backlog),
        )  # fmt: skip
        yield self._gauge(
            samples, "breaker_open", "1 while the destination's circuit breaker is open.",
            lambda s: 1.0 if s.breaker_open else 0.0,
        )  # fmt: skip
        yield self._gauge(
            samples, "last_read_timestamp_seconds", "When the source was last read (Unix s).",
            lambda s: s.last_read_at,
        )  # fmt: skip
        yield self._gauge(
            samples, "rate_limit_headroom_ratio", "Share of the system's rate limit left.",
            lambda s: s.headroom,
        )  # fmt: skip
        yield self._gauge(
            samples, "cdc_slot_retained_bytes",
            "WAL a mode: cdc flow's replication slot keeps (restart point to WAL end), bytes.",
            lambda s: s.slot_retained_bytes,
        )  # fmt: skip
        yield self._gauge(
            samples, "cdc_slot_retained_seconds",
            "How long ago the WAL's end stood at the slot's confirmed position, seconds.",
            lambda s: s.slot_retained_s,
        )  # fmt: skip

    def _retries(self, samples: list[FlowSample]) -> CounterMetricFamily:
        """Retries by class: `transient` (5xx, dropped connections), `rate_limited` (429s)
        and `timeout` (no answer in time); `sum without (class)` gives them all."""
        family = CounterMetricFamily(
            "syncwell_retries",
            "Write attempts retried, by the class of the failure.",
            labels=[*_LABELS, "class"],
        )
        for sample in samples:
            labels = self._labels(sample)
            rate_limited, timeout = sample.retries_rate_limited, sample.retries_timeout
            transient = sample.retries - rate_limited - timeout
            for name, count in (
                ("transient", transient),
                ("rate_limited", rate_limited),
                ("timeout", timeout),
            ):
                family.add_metric([*labels, name], float(count))
        return family

    def _verified(self, samples: list[FlowSample]) -> Iterator[CounterMetricFamily]:
        """Written records read back, those that came back different, and the drift per
        field: a field the destination did not keep as it was sent (docs/measurements.md)."""
        verified = CounterMetricFamily(
            "syncwell_verified_records", "Written records read back to verify them.", labels=_LABELS
        )
        drifted = CounterMetricFamily(
            "syncwell_drifted_records",
            "Records read back with a field that came back different, or gone.",
            labels=_LABELS,
        )
        fields = CounterMetricFamily(
            "syncwell_field_drift",
            "Records read back whose field came back different, by field.",
            labels=[*_LABELS, "field"],
        )
        for sample in samples:
            labels = self._labels(sample)
            verified.add_metric(labels, float(sample.verified))
            drifted.add_metric(labels, float(sample.drifted))
            for name, count in sorted(sample.drift.items()):
                fields.add_metric([*labels, name], float(count))
        yield from (verified, drifted, fields)

    def _gauge(
        self,
        samples: list[FlowSample],
        name: str,
        help_text: str,
        value: Callable[[FlowSample], float | None],
    ) -> GaugeMetricFamily:
        family = GaugeMetricFamily(f"syncwell_{name}", help_text, labels=_LABELS)
        for sample in samples:
            measured = value(sample)
            if measured is not None:  # unknown is left out, not reported as zero
                family.add_metric(self._labels(sample), measured)
        return family

    def _labels(self, sample: FlowSample) -> list[str]:
        return [self._workspace, sample.integration, sample.flow]
