"""What the analysis knows of each flow: its configuration and its measurements over a window.

These are plain numbers, gathered once from the store (`gather`), so that the judgement
(`judge.py`) is a pure function that tests can feed directly and a what-if can change.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from syncwell.analyze.confidence import at_least
from syncwell.analyze.trend import Trend
from syncwell.connectors.http.settings import Settings as HttpSettings
from syncwell.errors import MisconfiguredError
from syncwell.store import DeadLetter, Incident, Store
from syncwell.store.schema import measurements
from syncwell.workspace import Flow, System, Workspace
from syncwell.workspace.modes import DEFAULT_MAX_RETAINED, Mode

__all__ = [
    "FlowFacts",
    "IncidentFacts",
    "WorkspaceFacts",
    "WriteShape",
    "flow_facts",
    "gather",
    "poison_field",
]

_DAY = 86400
_MIN_DAY_S = 3600.0
"""A day measured for less than this does not count in the trend."""
_TREND_DAYS = 28
_POISON_SAMPLE = 200
_RECORD_WRITES = ("upsert", "create", "update")
"""The write endpoints of an http stream that carry records (a delete carries keys)."""
_TIMEOUTS = ("timeout_s", "statement_timeout_s", "busy_timeout_s")
"""The settings, by connector kind, that bound how long one write may wait."""


@dataclass(frozen=True, slots=True)
class WriteShape:
    """An http endpoint that writes a flow's records, for advice that names its settings."""

    setting: str
    """Where it is in syncwell.yaml: systems.<system>.streams.<stream>.write.<role>."""
    bulk: bool
    """Whether one request carries many records (its body names {{records}})."""
    max_batch: int
    """Records a request of a bulk endpoint carries at most."""


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """An integration's incidents that overlapped the window."""

    count: int = 0
    resolved: int = 0
    resolve_s_total: float = 0.0
    open_s: float = 0.0
    """Seconds of the window some incident of it was open (overlaps counted once per cause)."""
    causes: tuple[str, ...] = ()

    @property
    def mean_resolve_s(self) -> float | None:
        """Mean time to resolve, of those resolved."""
        return self.resolve_s_total / self.resolved if self.resolved else None


@dataclass(frozen=True, slots=True)
class FlowFacts:
    """One flow's configuration and its measurements added up over the window."""

    name: str
    integration: str
    source: str
    destination: str
    mode: str
    interval_s: float | None
    batch_size: int
    freshness_slo_s: float
    success_slo: float
    source_rate_per_s: float | None = None
    """The source system's rate limit, requests per second: the least of the configured one
    and what its limiter learned from the system's headers; None when it has none."""
    destination_rate_per_s: float | None = None
    source_sends_webhooks: bool = False
    source_is_postgres: bool = False
    """Whether the source is a PostgreSQL database, which a `mode: cdc` flow can read."""
    measured_s: float = 0.0
    """Seconds the engine ran and measured the flow in the window."""
    changes_in: int = 0
    backfill_in: int = 0
    screened: int = 0
    changes_out: int = 0
    batches: int = 0
    attempts: int = 0
    retries_transient: int = 0
    retries_rate_limited: int = 0
    retries_timeout: int = 0
    dead_lettered: int = 0
    reads: int = 0
    read_failures: int = 0
    reads_rate_limited: int = 0
    reads_timed_out: int = 0
    misconfigured: int = 0
    """Reads and write attempts that failed for a configuration mistake (the user's)."""
    misconfiguration: str = ""
    """What the newest of those said, with its fix (read when they spend the budget)."""
    read_gap_max_s: float = 0.0
    latency_sum_ms: float = 0.0
    lag_sum_s: float = 0.0
    lag_max_s: float = 0.0
    late: int = 0
    requests: int = 0
    backlog_max: int = 0
    dead_letters_max: int = 0
    breaker_open_s: float = 0.0
    source_down_s: float = 0.0
    """Seconds the source was down by its answers (measure/answers.py)."""
    destination_down_s: float = 0.0
    headroom_min: float | None = None
    missed_by_webhooks: int = 0
    busy_s: float = 0.0
    """Seconds spent writing batches while more changes waited."""
    out_busy: int = 0
    poison_field: str | None = None
    """The field the dead letters' reasons name most, when most of them name one."""
    poison_reason: str = ""
    trend: Trend | None = None
    """Its changes in per day over the last four weeks (for the forecast)."""
    writes: tuple[WriteShape, ...] = ()
    """The endpoints its records are written through, when the destination is http."""
    timeout: tuple[str, float] | None = None
    """The destination's setting that bounds one write's wait, and its value in seconds
    (`timeout_s` of http, `statement_timeout_s` of PostgreSQL, `busy_timeout_s` of SQLite)."""
    slot_retained_bytes_max: int | None = None
    """A `mode: cdc` flow's replication slot: the most WAL it kept at a minute of the window
    (bytes); None when not measured (not a CDC flow, or no slot measurements)."""
    slot_retained_s_max: float | None = None
    """Likewise, how far behind in time its confirmed position was at most (seconds): how far
    the flow's reading of its source fell behind (measure/slots.py)."""
    slot_max_retained: int | None = None
    """A CDC flow's `cdc.max_retained` (bytes): above it, a `slot_wal` incident opens."""

    @property
    def retries(self) -> int:
        """Retries of every class."""
        return self.retries_transient + self.retries_rate_limited + self.retries_timeout

    @property
    def down(self) -> tuple[str, float]:
        """The flow's system that was down longer, and for how many seconds: the source by
        its answers to reads, the destination by its answers to writes or its breaker."""
        destination = max(self.breaker_open_s, self.destination_down_s)
        if self.source_down_s > destination:
            return self.source, self.source_down_s
        return self.destination, destination


_SLOT = ("slot_retained_bytes_max", "slot_retained_s_max")
"""A CDC flow's slot health, per minute (measure/slots.py): read by name, None where not
measured (a flow of another mode, a window before slots were measured)."""
_MEASURED = (
    frozenset(column.name for column in measurements.columns) & set(FlowFacts.__slots__)
) - set(_SLOT)
"""FlowFacts fields read from measured columns; the rest come from the workspace."""


@dataclass(frozen=True, slots=True)
class WorkspaceFacts:
    """Everything an analysis reads: the workspace's flows, measured, and their incidents."""

    workspace: Workspace
    window_s: float
    at: float
    flows: Mapping[str, FlowFacts]
    incidents: Mapping[str, IncidentFacts] = field(default_factory=dict)
    """By integration."""


async def gather(
    store: Store, workspace: Workspace, *, window_s: float, at: float
) -> WorkspaceFacts:
    """Read the measurements of [at - window_s, at) and the incidents and dead letters in it.

    The window's totals, the trends and the incidents are read at once, each on its own
    connection: on SQLite (WAL) readers run side by side, and so do their threads.
    """
    since = at - window_s
    summed, trends, overlapping = await asyncio.gather(
        store.measurements.totals(since=since, until=at),
        _trends(store, at),
        store.incidents.overlapping(since, at),
    )
    totals = {str(row["flow"]): row for row in summed}
    flows: dict[str, FlowFacts] = {}
    for flow in workspace.flows.values():
        measured = totals.get(flow.name, {})
        facts = flow_facts(workspace, flow, measured, (None, ""), trends.get(flow.name))
        if _refusals_matter(facts):
            poison = await _poison(store, flow.name, since=since)
            facts = replace(facts, poison_field=poison[0], poison_reason=poison[1])
        if facts.misconfigured:
            said = await store.failures.newest(
                flow.name, error_class=MisconfiguredError.__name__, since=since
            )
            facts = replace(facts, misconfiguration=said or "")
        flows[flow.name] = facts
    incidents = _incident_facts(overlapping, since, at)
    return WorkspaceFacts(workspace, window_s, at, flows, incidents)


def flow_facts(
    workspace: Workspace,
    flow: Flow,
    measured: Mapping[str, object],
    poison: tuple[str | None, str] = (None, ""),
    trend: Trend | None = None,
) -> FlowFacts:
    """A flow's facts from its configuration and its measured totals (a rollup row's columns)."""
    numbers = {k: v for k, v in measured.items() if k in _MEASURED and v is not None}
    source, destination = workspace.systems[flow.source], workspace.systems[flow.destination]
    configured_source = source.rate_limit.per_second if source.rate_limit else None
    configured_destination = destination.rate_limit.per_second if destination.rate_limit else None
    return FlowFacts(
        name=flow.name,
        integration=flow.integration,
        source=flow.source,
        destination=flow.destination,
        mode=str(flow.mode),
        interval_s=flow.interval.total_seconds() if flow.interval else None,
        batch_size=flow.batch_size,
        freshness_slo_s=flow.slo.freshness.total_seconds(),
        success_slo=flow.slo.success_rate,
        source_rate_per_s=_least(configured_source, measured.get("source_rate_min")),
        destination_rate_per_s=_least(configured_destination, measured.get("destination_rate_min")),
        source_sends_webhooks=source.webhooks is not None,
        source_is_postgres=source.kind == "postgres",
        poison_field=poison[0],
        poison_reason=poison[1],
        trend=trend,
        writes=_write_shapes(flow, destination),
        timeout=_timeout(destination),
        slot_retained_bytes_max=_whole(measured.get("slot_retained_bytes_max")),
        slot_retained_s_max=_seconds(measured.get("slot_retained_s_max")),
        slot_max_retained=_max_retained(flow),
        **numbers,  # type: ignore[arg-type]
    )


def _max_retained(flow: Flow) -> int | None:
    if flow.mode is not Mode.CDC:
        return None
    return int(flow.cdc.max_retained) if flow.cdc is not None else int(DEFAULT_MAX_RETAINED)


def _whole(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _write_shapes(flow: Flow, destination: System) -> tuple[WriteShape, ...]:
    settings = destination.settings
    if not isinstance(settings, HttpSettings) or flow.target not in settings.streams:
        return ()
    write = settings.streams[flow.target].write
    if write is None:
        return ()
    at = f"systems.{destination.name}.streams.{flow.target}.write"
    return tuple(
        WriteShape(f"{at}.{role}", endpoint.bulk, endpoint.max_batch)
        for role in _RECORD_WRITES
        if (endpoint := getattr(write, role)) is not None
    )


def _timeout(system: System) -> tuple[str, float] | None:
    for name in _TIMEOUTS:
        value = getattr(system.settings, name, None)
        if isinstance(value, int | float):
            return f"systems.{system.name}.{name}", float(value)
    return None


async def _trends(store: Store, at: float) -> dict[str, Trend]:
    """Each flow's changes per day over the last four whole weeks (today left out: partial)."""
    today = int(at // _DAY * _DAY)
    since = today - _TREND_DAYS * _DAY
    rows = await store.measurements.daily_changes(
        since=since, until=today, min_measured_s=_MIN_DAY_S
    )
    points: dict[str, list[tuple[float, float]]] = {}
    for flow, day, changes in rows:
        points.setdefault(flow, []).append((float(day), changes))
    found = {}
    for flow, days in points.items():
        trend = Trend.of(days, _TREND_DAYS - 1)
        if trend is not None:
            found[flow] = trend
    return found


def _refusals_matter(facts: FlowFacts) -> bool:
    """Whether the flow's refusals spend its error budget: only then are they read."""
    budget = 1.0 - facts.success_slo
    return at_least(facts.dead_lettered, facts.changes_out + facts.dead_lettered) > budget


async def _poison(store: Store, flow: str, *, since: float) -> tuple[str | None, str]:
    letters = await store.dead_letters.list(
        flow=flow, status=None, limit=_POISON_SAMPLE, since=since
    )
    return poison_field(letters)


def poison_field(letters: Sequence[DeadLetter]) -> tuple[str | None, str]:
    """The field most of the dead letters' reasons name, and one such reason."""
    named: Counter[str] = Counter()
    example: dict[str, str] = {}
    for letter in letters:
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", letter.reason))
        for column in letter.batch.columns:
            if column in words:
                named[column] += 1
                example.setdefault(column, letter.reason)
    if not named:
        return None, letters[0].reason if letters else ""
    column, count = named.most_common(1)[0]
    if count * 2 < len(letters):
        return None, letters[0].reason
    return column, example[column]


def _incident_facts(
    incidents: Sequence[Incident], since: float, until: float
) -> dict[str, IncidentFacts]:
    spans: dict[str, list[tuple[float, float]]] = {}
    found: dict[str, IncidentFacts] = {}
    for incident in incidents:
        before = found.get(incident.integration, IncidentFacts())
        closed = incident.closed_at
        resolve = incident.resolve_s
        found[incident.integration] = IncidentFacts(
            count=before.count + 1,
            resolved=before.resolved + (resolve is not None),
            resolve_s_total=before.resolve_s_total + (resolve or 0.0),
            causes=tuple(sorted({*before.causes, incident.cause})),
        )
        end = until if closed is None else min(closed, until)
        spans.setdefault(incident.integration, []).append((max(incident.opened_at, since), end))
    for integration, pieces in spans.items():
        facts = found[integration]
        found[integration] = IncidentFacts(
            facts.count, facts.resolved, facts.resolve_s_total, _covered(pieces), facts.causes
        )
    return found


def _covered(pieces: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(pieces):
        start = max(start, reach)
        if end > start:
            total += end - start
        reach = max(reach, end)
    return total


def _least(configured: float | None, learned: object) -> float | None:
    if not isinstance(learned, int | float):
        return configured
    return float(learned) if configured is None else min(configured, float(learned))
