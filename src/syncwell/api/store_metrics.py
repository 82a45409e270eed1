"""`/metrics` where no engine runs (`syncwell serve`): what the state store knows of each flow.

`syncwell run` exports its engine's own counts (measure/prometheus.py). `syncwell serve` runs
no engine, so it reads the store, as `syncwell status` does: the changes written and the dead
letters made over the store's history (counters that only grow, so `rate()` reads them as a
run's), and the backlog, the open dead letters and the last success now. What only a running
engine counts (reads, retries by class, webhooks, echoes, the breaker, rate-limit headroom) is
not served here rather than served as zeros.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncwell.store import Store
from syncwell.store.reports import FlowReport
from syncwell.workspace import Workspace

__all__ = ["store_metrics"]

_LABELS = ("workspace", "integration", "flow")
_Value = Callable[[FlowReport], float | None]

_COUNTERS: tuple[tuple[str, str, _Value], ...] = (
    ("changes_written", "Changes written to the destination, over the state store's history.",
     lambda r: float(r.written)),
    ("dead_letters", "Dead letters made, each once, over the state store's history.",
     lambda r: float(r.dead_lettered)),
)  # fmt: skip
_GAUGES: tuple[tuple[str, str, _Value], ...] = (
    ("backlog_changes", "Changes journaled and not yet delivered.", lambda r: float(r.backlog)),
    ("dead_letters_open", "Dead letters waiting to be replayed or discarded.",
     lambda r: float(r.dead_letters)),
    ("last_success_timestamp_seconds", "When a batch was last written (Unix s).",
     lambda r: r.last_success_at),
    ("cdc_slot_retained_bytes",
     "WAL a mode: cdc flow's replication slot kept, bytes, in the newest minute measured.",
     lambda r: None if r.slot_retained_bytes is None else float(r.slot_retained_bytes)),
    ("cdc_slot_retained_seconds",
     "How far behind in time the slot's confirmed position was, s, in that minute.",
     lambda r: r.slot_retained_s),
)  # fmt: skip


async def store_metrics(workspace: Workspace, store: Store) -> bytes:
    """The store's view of each flow of `workspace`, in the Prometheus text format."""
    reports = await store.reports.flows(list(workspace.flows))
    registry = CollectorRegistry()
    registry.register(_Reports(workspace, reports))
    return generate_latest(registry)


class _Reports(Collector):
    """Metric families from the flows' reports, read once per scrape."""

    def __init__(self, workspace: Workspace, reports: Sequence[FlowReport]) -> None:
        self._workspace = workspace
        self._reports = reports

    def collect(self) -> Iterator[Metric]:
        for name, help_text, value in _COUNTERS:
            counter = CounterMetricFamily(f"syncwell_{name}", help_text, labels=_LABELS)
            yield self._filled(counter, value)
        for name, help_text, value in _GAUGES:
            gauge = GaugeMetricFamily(f"syncwell_{name}", help_text, labels=_LABELS)
            yield self._filled(gauge, value)

    def _filled(
        self, family: CounterMetricFamily | GaugeMetricFamily, value: _Value
    ) -> CounterMetricFamily | GaugeMetricFamily:
        for report in self._reports:
            measured = value(report)
            if measured is not None:  # unknown is left out, not reported as zero
                flow = self._workspace.flows[report.flow]
                labels = [self._workspace.name, flow.integration, report.flow]
                family.add_metric(labels, measured)
        return family
