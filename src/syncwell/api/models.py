"""What the REST API answers, as pydantic models: the schemas of its OpenAPI document.

The routes still build plain values (map/document.py, display.py, analyze/report.py own those
shapes) and FastAPI validates each answer through its model here: an answer that strays
from its documented shape fails as a 500 rather than contradicting the document, and
tests/api/test_rest.py ties each model to the code that fills it, so it fails there first.
Times are Unix seconds, durations seconds, shares 0 to 1. A float the analysis found
infinite is null, as `analysis_dict` makes it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from syncwell.analyze import Reason
from syncwell.map import Health
from syncwell.store.dead_letters import DeadLetterStatus
from syncwell.workspace import Mode

__all__ = [
    "Analysis",
    "ConstraintMove",
    "DeadLetter",
    "ErrorBody",
    "FieldDrift",
    "FlowReport",
    "FlowVerdict",
    "FlowVerification",
    "Forecast",
    "Incident",
    "IntegrationVerdict",
    "KeptAnalysis",
    "KeptRanking",
    "MapFlow",
    "MapSlo",
    "MapSystem",
    "MapWorkflow",
    "MeasurementMinute",
    "Resolution",
    "System",
    "TicketCounts",
    "TicketDisagreement",
    "TicketEvidence",
    "ValidationErrorBody",
    "ValidationProblem",
    "WorkflowLimit",
    "WorkspaceMap",
]


class _Answer(BaseModel):
    """An answer's shape: frozen, only the keys documented, and every key always sent (a
    default fills in a key an older analysis kept in the store lacks). A key beyond them, one
    an older analysis kept and this version dropped, is left out rather than failing the
    answer; tests/api/test_rest.py keeps the models and what the routes build in step."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", json_schema_serialization_defaults_required=True
    )


# --- GET /workspace: map/document.py ------------------------------------------------------


class MapSystem(_Answer):
    """One system of the workspace."""

    name: str = Field(description="The system's name in syncwell.yaml.")
    kind: str = Field(description="Its connector kind, such as sqlite or postgres.")
    core: bool = Field(description="Whether it is the workspace's core system.")
    highlighted: bool = Field(description="Whether the map marks it; the API marks nothing.")


class MapSlo(_Answer):
    """A flow's service-level objective."""

    freshness_s: float = Field(description="How late a change may be written, in seconds.")
    success_rate: float = Field(description="Share of write attempts that must succeed, 0-1.")


class MapFlow(_Answer):
    """One flow: where it goes, how often, its SLO, its integration and its health."""

    name: str = Field(description="The flow's name in syncwell.yaml.")
    source: str = Field(description="The system it reads.")
    destination: str = Field(description="The system it writes.")
    mode: Mode = Field(description="How it learns of changes.")
    interval_s: float | None = Field(description="Seconds between reads; null when manual.")
    slo: MapSlo = Field(description="What it promises.")
    manual: bool = Field(description="Whether people do it by hand (mode manual).")
    integration: str = Field(description="The external system the analysis judges it by.")
    health: Health = Field(description="Its health; the API's map judges none: unknown.")
    highlighted: bool = Field(description="Whether the map marks it; the API marks nothing.")


class MapWorkflow(_Answer):
    """One workflow: its flows, in the order work travels them."""

    name: str = Field(description="The workflow's name in syncwell.yaml.")
    description: str = Field(description="What it is for, in words; may be empty.")
    flows: list[str] = Field(description="Its flows' names, in the order work travels them.")


class WorkspaceMap(_Answer):
    """The workspace drawn as data (docs/map.md): lists keep the workspace file's order."""

    workspace: str = Field(description="The workspace's name.")
    core: str | None = Field(description="The core system's name; null when none is set.")
    systems: list[MapSystem] = Field(description="Every system.")
    flows: list[MapFlow] = Field(description="Every flow.")
    workflows: list[MapWorkflow] = Field(description="Every workflow.")


# --- GET /flows: store/reports.py --------------------------------------------------------


class FieldDrift(_Answer):
    """A field the destination did not keep as it was sent (docs/guarantees.md)."""

    field: str = Field(description="The field, in the destination's names.")
    drifted: int = Field(description="Records read back whose field came back different.")
    last_key: str = Field(description="The newest such record's key.")
    last_sent: str = Field(description="What was sent there, as JSON text.")
    last_read: str = Field(
        description="What was read back, as JSON text; `absent` when the record lacks it."
    )
    last_at: float = Field(description="When it was read back, Unix seconds.")


class FlowVerification(_Answer):
    """What reading back a flow's written records found, over the store's history."""

    flow: str = Field(description="The flow's name.")
    verified: int = Field(description="Written records read back and compared (count).")
    drifted: int = Field(
        description="Of those, records with a field that came back different, or gone (count)."
    )
    missing: int = Field(description="Of those, records the destination did not hold (count).")
    first_at: float = Field(description="When the first was read back, Unix seconds.")
    last_at: float = Field(description="When the newest was read back, Unix seconds.")
    fields: list[FieldDrift] = Field(description="The drifting fields, most drifted first.")


class System(_Answer):
    """One system and how it stands (GET /systems)."""

    name: str = Field(description="The system's name.")
    kind: str = Field(description="Its connector kind: postgres, sqlite, http, webhook_out...")
    core: bool = Field(description="Whether it is the workspace's core system.")
    flows: list[str] = Field(description="The flows it is a side of, in the workspace's order.")
    judged: bool = Field(
        description="Whether the newest analysis judged it (an integration, or the core)."
    )
    reason: Reason | None = Field(
        description="Why it breaks an SLO in the newest analysis; null when within them."
    )
    severity: float | None = Field(
        description="How many times over its limit its worst flow is (above 1 breaks the "
        "SLO); null when not judged, or infinite (it took nothing while work waited)."
    )
    worst_flow: str | None = Field(description="Its worst flow in the newest analysis.")
    constraint: bool = Field(description="Whether the newest analysis named it the constraint.")
    open_incidents: int = Field(description="Its incidents still open (count).")
    open_dead_letters: int = Field(description="Its flows' dead letters still open (count).")


class FlowReport(_Answer):
    """Where one flow stands."""

    flow: str = Field(description="The flow's name.")
    checkpoint: dict[str, JsonValue] | None = Field(
        description="Its position in the source, as the source connector keeps it (a cursor, "
        "a phase...); null before its first read."
    )
    checkpoint_at: float | None = Field(description="When it was saved, Unix seconds.")
    backlog: int = Field(description="Changes taken in and not yet delivered (count).")
    oldest_pending_at: float | None = Field(
        description="When the source saw the oldest undelivered change, Unix seconds; null "
        "with no backlog."
    )
    last_success_at: float | None = Field(
        description="When a delivery last finished, Unix seconds; null if none ever did."
    )
    written: int = Field(
        description="Changes written to the destination (delivered), over the store's history."
    )
    retries: int = Field(description="Write attempts retried, over the store's history.")
    dead_lettered: int = Field(
        description="Dead letters made over the store's history, each once: open, replayed "
        "or discarded (docs/measurements.md)."
    )
    dead_letters: int = Field(description="Dead letters still open (count).")
    failures_24h: int = Field(description="Reads and deliveries failed in the last 24 hours.")
    last_failure: str = Field(description="The newest failure's message; empty if none.")
    last_failure_at: float | None = Field(description="When it failed, Unix seconds; or null.")
    verification: FlowVerification | None = Field(
        description="What reading back its written records found (its `verify:`); null when "
        "none was read back."
    )
    matched: int = Field(
        description="Records its last first sync found equal in the destination, so did not "
        "write (docs/first-sync.md)."
    )
    in_stream: int | None = Field(
        description="With a transport: its messages waiting in the stream for a worker "
        "(each a partition's part of a journal entry), beside `backlog`, the journal's; "
        "null without a transport or when the stream could not be read."
    )
    stream_error: str = Field(
        description="Why the stream could not be read (then `in_stream` is null and what "
        "waits there is not counted); empty when it was, or without a transport."
    )
    slot_retained_bytes: int | None = Field(
        description="A `mode: cdc` flow: the most WAL its replication slot kept in the last "
        "minute the engine measured it (bytes); null for other flows or when never measured "
        "(docs/cdc.md, Slot health)."
    )
    slot_retained_s: float | None = Field(
        description="Likewise, the furthest behind in time the slot's confirmed position was "
        "in that minute (seconds)."
    )
    slot_measured_at: float | None = Field(
        description="The start of that minute (Unix seconds); null when never measured."
    )


# --- GET /measurements: the measurements table (store/schema.py, docs/measurements.md) ----


class MeasurementMinute(_Answer):
    """What one flow did in one minute."""

    flow: str = Field(description="The flow's name.")
    minute: int = Field(description="The minute's start, Unix seconds.")
    measured_s: float = Field(description="Seconds of the minute the engine ran.")
    changes_in: int = Field(description="Changes journaled, by reads and by webhooks (count).")
    backfill_in: int = Field(description="Of those, changes a full read took in (count).")
    screened: int = Field(description="Changes dropped unwritten: echoes, stale (count).")
    changes_out: int = Field(description="Changes written to the destination (count).")
    batches: int = Field(description="Batches delivered (count).")
    attempts: int = Field(description="Write attempts those batches took (count).")
    retries_transient: int = Field(description="Retries after errors that may pass (count).")
    retries_rate_limited: int = Field(description="Retries after a 429 (count).")
    retries_timeout: int = Field(description="Retries after no answer in time (count).")
    dead_lettered: int = Field(description="Changes set aside as dead letters (count).")
    busy_s: float = Field(description="Seconds spent writing with more changes waiting.")
    out_busy: int = Field(description="Changes written in that time (count).")
    reads: int = Field(description="Reads of the source (count).")
    read_failures: int = Field(description="Reads failed after their retries (count).")
    reads_rate_limited: int = Field(description="Of those, reads answered 429 (count).")
    reads_timed_out: int = Field(description="Of those, reads unanswered in time (count).")
    misconfigured: int = Field(
        description="Reads and write attempts that failed for a configuration mistake: the "
        "workspace does not fit the system, such as a key column that allows NULL (count)."
    )
    read_gap_max_s: float = Field(description="The longest time between two reads, seconds.")
    latency_sum_ms: float = Field(description="Write time summed over batches, milliseconds.")
    latency_buckets: str = Field(
        description="Batches by write time, comma-separated counts under 10, 25, 50, 100, "
        "250, 500, 1000, 2500, 5000, 10000 ms and above."
    )
    lag_sum_s: float = Field(description="Freshness lag summed over batches, seconds.")
    lag_max_s: float = Field(description="The largest freshness lag, seconds.")
    late: int = Field(description="Changes written later than the freshness SLO (count).")
    requests: int = Field(description="Requests that spent a rate-limit budget (count).")
    backlog_max: int = Field(description="The most changes waiting at a sample (count).")
    dead_letters_max: int = Field(description="The most dead letters open at a sample (count).")
    breaker_open_s: float = Field(description="Seconds the destination's breaker was open.")
    source_down_s: float = Field(
        description="Seconds the source was down by its answers: from a failed read that showed "
        "it down (a 5xx with Retry-After, or failures in a row) to its next good read."
    )
    destination_down_s: float = Field(
        description="Seconds the destination was down by its answers to write attempts."
    )
    headroom_min: float | None = Field(
        description="The least rate-limit headroom reported (remaining over limit, 0-1); null "
        "when the system reports none."
    )
    source_rate_min: float | None = Field(
        description="The least requests per second the source's limiter allowed; null if none."
    )
    destination_rate_min: float | None = Field(
        description="The least requests per second the destination's limiter allowed; null if none."
    )
    missed_by_webhooks: int = Field(description="Changes reconciliation found missed (count).")
    verified: int = Field(description="Written records read back to verify them (count).")
    drifted: int = Field(description="Of those, records that came back different (count).")
    slot_retained_bytes_max: int | None = Field(
        description="A `mode: cdc` flow: the most WAL its replication slot kept in the minute "
        "(bytes); null for other flows."
    )
    slot_retained_s_max: float | None = Field(
        description="Likewise, the furthest behind in time the slot's confirmed position was "
        "(seconds); null for other flows."
    )


# --- GET /incidents and /dead-letters: display.py -----------------------------------------


class Incident(_Answer):
    """A period in which a flow was unhealthy, and why."""

    id: int = Field(description="The incident's id.")
    integration: str = Field(description="The flow's external system.")
    flow: str = Field(description="The flow's name.")
    cause: str = Field(
        description="breaker_open, freshness, stalled, success_rate, deletes_held, drift or "
        "unreachable."
    )
    detail: str = Field(description="The evidence, in a sentence.")
    opened_at: float = Field(description="When it opened, Unix seconds.")
    closed_at: float | None = Field(description="When it closed, Unix seconds; null if open.")
    resolve_s: float | None = Field(description="Time to resolve, seconds; null while open.")


class DeadLetter(_Answer):
    """A change that failed for good, kept with its reason until replayed or discarded."""

    id: int = Field(description="The dead letter's id.")
    flow: str = Field(description="The flow that could not deliver it.")
    key: str = Field(description="The record's key as text; a JSON list if several columns.")
    op: str = Field(description="What the change does to its record: upsert or delete.")
    version: str = Field(description="The change's version, as text.")
    reason: str = Field(description="Why the destination refused it.")
    error_class: str = Field(description="The exception class that set it aside.")
    attempts: int = Field(description="Write attempts made before it was set aside (count).")
    status: DeadLetterStatus = Field(description="open, replayed or discarded.")
    created_at: float = Field(description="When it was set aside, Unix seconds.")
    resolved_at: float | None = Field(
        description="When it was replayed or discarded, Unix seconds; null while open."
    )
    replayed_as: int | None = Field(
        description="The journal entry a replay put the change back as; null if not replayed."
    )
    replayed_after: int | None = Field(
        description="The newest dead letter's id when it was replayed: a later one of the same "
        "change means the replay failed again; null if not replayed."
    )
    data: dict[str, JsonValue] = Field(
        description="The change's values by column; values JSON cannot hold are given as text."
    )


class Resolution(_Answer):
    """A dead letter replayed or discarded."""

    id: int = Field(description="The dead letter's id.")
    status: Literal["replayed", "discarded"] = Field(description="What became of it.")


# --- /constraint: analyze/verdict.py, analyze/report.py, analyze/history.py ---------------

_SEVERITY = (
    "The largest of burn, utilisation and the interval over the freshness SLO: above 1, an "
    "SLO breaks; null when infinite (a tool that took nothing while work waited)."
)
_UTILISATION = (
    "Demand over capacity: at 1 or more, work piles up; null when unknown or infinite (it "
    "took nothing while work waited)."
)
_BUDGET_USE = "Requests needed over those the rate limit allows; null when not limited."
_CAPACITY_BOUND = "What sets the capacity: observed, latency, rate_limit or unknown."
_ADVICE = "What to change, most useful first."


class Forecast(_Answer):
    """When an integration's demand meets its capacity, if volume keeps its trend."""

    growth_per_week: float | None = Field(
        description="Relative growth of changes per week (0.12 is +12%); null without enough "
        "days of measurements."
    )
    days_to_saturation: float | None = Field(
        description="Days until it saturates; null when not within a year or not known."
    )
    limit: str = Field(
        default="", description="What saturates first: capacity or rate-limit budget; or ''."
    )
    sentence: str = Field(default="", description="The forecast, in words.")
    model: str = Field(
        default="",
        description="How volume grows, as fitted to the days: linear or compounding; '' "
        "without enough days.",
    )
    days_earliest: float | None = Field(
        default=None,
        description="The early end of the range of days to saturation (the growth's 90% "
        "interval); null when not known.",
    )
    days_latest: float | None = Field(
        default=None,
        description="Its late end; null when that is not within a year or not known.",
    )


class IntegrationVerdict(_Answer):
    """One integration (an external system and its flows), judged by its worst flow."""

    integration: str = Field(description="The external system.")
    severity: float | None = Field(description=_SEVERITY)
    reason: Reason | None = Field(description="Why it breaks an SLO; null when within them.")
    flow: str = Field(description="Its worst flow.")
    evidence: str = Field(description="The measurements behind the verdict, in a sentence.")
    advice: list[str] = Field(description=_ADVICE)
    utilisation: float | None = Field(description=f"Of its most loaded flow. {_UTILISATION}")
    budget_use: float | None = Field(description=_BUDGET_USE)
    incidents: int = Field(description="Its incidents that overlapped the window (count).")
    mean_resolve_s: float | None = Field(
        description="Mean time to resolve those resolved, seconds; null if none was."
    )
    incident_open_s: float = Field(description="Seconds of the window an incident was open.")
    workflows: int = Field(description="Workflows that pass through it (count).")
    forecast: Forecast = Field(
        default_factory=lambda: Forecast(growth_per_week=None, days_to_saturation=None),
        description="When it saturates if volume keeps its trend.",
    )
    capacity_bound: str = Field(
        default="unknown", description=f"Of its most loaded flow. {_CAPACITY_BOUND}"
    )


class FlowVerdict(_Answer):
    """One flow, judged: its load, its limits and how it stands against its SLO."""

    flow: str = Field(description="The flow's name.")
    integration: str = Field(description="Its external system.")
    demand_per_min: float = Field(description="Changes arriving per minute measured.")
    capacity_per_min: float | None = Field(
        description="Changes per minute it could sustain; null when unknown."
    )
    capacity_bound: str = Field(description=_CAPACITY_BOUND)
    utilisation: float | None = Field(description=_UTILISATION)
    budget_use: float | None = Field(description=_BUDGET_USE)
    freshness_floor_s: float | None = Field(
        description="The least lag its polling allows (its interval), or a manual step's "
        "declared every + takes, seconds; null otherwise."
    )
    late_share: float = Field(description="Changes written later than the SLO, of those written.")
    failure_share: float = Field(description="Changes refused for good, of those written or not.")
    retry_share: float = Field(
        description="Write attempts and reads that failed, of all of them (explains lateness; "
        "spends no error budget by itself)."
    )
    downtime_share: float = Field(
        description="Share of the window its source or destination was down: no successful "
        "answer in a span its answers showed it down, or its breaker open."
    )
    burn: float = Field(description="The worst share over the error budget: above 1, SLO breaks.")
    severity: float | None = Field(description=_SEVERITY)
    reason: Reason | None = Field(description="Why it breaks its SLO; null when within it.")
    evidence: str = Field(description="The measurements behind the verdict, in a sentence.")
    advice: list[str] = Field(default_factory=list, description=_ADVICE)
    workflows: int = Field(default=0, description="Workflows that pass through it (count).")
    system: str = Field(
        default="",
        description="The system it is ranked under when that is not its integration: the "
        "core, when the core's writes or answers break it; '' otherwise.",
    )


class WorkflowLimit(_Answer):
    """A workflow and the integration that limits it."""

    workflow: str = Field(description="The workflow's name.")
    flows: list[str] = Field(description="Its flows, in the order work travels them.")
    integration: str | None = Field(description="What limits it; null when within its SLOs.")
    reason: Reason | None = Field(description="Why; null when within its SLOs.")


class TicketCounts(_Answer):
    """One integration's support tickets over the window (analyze/tickets.py)."""

    integration: str = Field(description="The integration its rule names, or (unattributed).")
    opened: int = Field(description="Tickets opened in the window.")
    still_open: int = Field(description="Its tickets not resolved yet, whenever opened.")
    resolved: int = Field(description="Tickets opened in the window and resolved since.")
    median_resolve_s: float | None = Field(
        description="Median seconds from opened to resolved; null when none is resolved."
    )


class TicketDisagreement(_Answer):
    """The integration with the most tickets is measured healthy: something is not measured."""

    integration: str = Field(description="The integration with the most tickets.")
    opened: int = Field(description="Its tickets opened in the window.")
    share: float = Field(description="Its share of the attributed tickets, 0..1.")
    message: str = Field(description="What disagrees, and what may be unmeasured.")


class TicketEvidence(_Answer):
    """Support tickets beside the measurements; they never move the constraint."""

    counts: list[TicketCounts] = Field(description="Per integration, most tickets first.")
    disagreement: TicketDisagreement | None = Field(
        description="Set when the most-ticketed integration is measured healthy."
    )


class Analysis(_Answer):
    """A whole constraint analysis (docs/constraint.md): what POST /constraint answers."""

    at: float = Field(description="When it was made, Unix seconds.")
    window_s: float = Field(description="The seconds of measurements it read, up to `at`.")
    constraint: IntegrationVerdict | None = Field(
        description="The integration holding the workflows back; null when none breaks an SLO."
    )
    ranking: list[IntegrationVerdict] = Field(description="Every integration, worst first.")
    flows: list[FlowVerdict] = Field(description="Every flow judged.")
    workflows: list[WorkflowLimit] = Field(description="Every workflow and what limits it.")
    summary: str = Field(description="The conclusion, in a sentence.")
    what_if: list[str] = Field(
        default_factory=list, description="The what-if changes it assumed; empty here."
    )
    estimates: list[str] = Field(
        default_factory=list,
        description="With a what-if that changes a flow's mode (poll or CDC): its lag "
        "estimated under the new mode and how it compares, a sentence each; empty here.",
    )
    tickets: TicketEvidence | None = Field(
        default=None,
        description="Support tickets over the window (`tickets:` in the workspace); null "
        "without one.",
    )


class KeptRanking(_Answer):
    """An integration's place in a kept analysis."""

    integration: str = Field(description="The external system.")
    reason: Reason | None = Field(description="Why it breaks an SLO; null when within them.")
    flow: str = Field(description="Its worst flow.")
    severity: float | None = Field(description=_SEVERITY)


class KeptAnalysis(_Answer):
    """The newest analysis as the store keeps it: the constraint, the ranking and which flows
    breached, without every flow's numbers."""

    id: int = Field(description="The kept analysis's id.")
    at: float = Field(description="When it was made, Unix seconds.")
    window_s: float = Field(description="The seconds of measurements it read, up to `at`.")
    summary: str = Field(description="The conclusion, in a sentence.")
    constraint: IntegrationVerdict | None = Field(
        description="The integration holding the workflows back; null when none breaks an SLO."
    )
    ranking: list[KeptRanking] = Field(description="Every integration, worst first.")
    judged: list[str] = Field(default_factory=list, description="The flows it judged.")
    breaching: list[str] = Field(
        default_factory=list, description="Of those, the flows that broke their SLO."
    )


class ConstraintMove(_Answer):
    """The constraint changed: from one integration (or none) to another (or none)."""

    at: float = Field(description="When the analysis that saw the move was made, Unix seconds.")
    before: str | None = Field(description="The constraint before; null for none.")
    before_reason: str | None = Field(description="Why it was; null for none.")
    after: str | None = Field(description="The constraint after; null for none.")
    after_reason: str | None = Field(description="Why it is; null for none.")
    why: str = Field(description="The new constraint's evidence, and how the old one stands.")


# --- errors -------------------------------------------------------------------------------


class ErrorBody(_Answer):
    """A refusal and its reason."""

    detail: str = Field(description="What was wrong, and what to do about it, in words.")


class ValidationProblem(BaseModel):
    """One parameter FastAPI refused (its own shape, sent as pydantic reports it)."""

    model_config = ConfigDict(frozen=True)

    loc: list[str | int] = Field(description="Where: 'query', 'path', then the parameter.")
    msg: str = Field(description="What is wrong with it, in words.")
    type: str = Field(description="The kind of problem, such as greater_than_equal.")
    input: JsonValue = Field(default=None, description="The value sent.")
    ctx: dict[str, JsonValue] | None = Field(
        default=None, description="The limit it broke, if any."
    )


class ValidationErrorBody(BaseModel):
    """The parameters FastAPI refused: a 422's body."""

    model_config = ConfigDict(frozen=True)

    detail: list[ValidationProblem] = Field(description="Each parameter refused, and why.")
