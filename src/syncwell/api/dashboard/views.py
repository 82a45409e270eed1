"""What each dashboard page shows, gathered from the state store as plain values for its
template. The pages read the store, never a running engine (like the REST API)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, cast

from syncwell.analyze import moves
from syncwell.analyze.history import Move
from syncwell.analyze.tickets import TicketCounts, ticket_counts
from syncwell.api.dashboard.plots import integration_plots
from syncwell.api.dashboard.timeline import incident_timeline
from syncwell.api.dashboard.windows import Choice, Window, choose_window
from syncwell.api.health import SystemHealth, systems_health
from syncwell.engine.admin import map_overlay
from syncwell.map import render_svg
from syncwell.store import DeadLetter, FlowReport, Incident, Store, StoredAnalysis
from syncwell.store.dead_letters import DeadLetterStatus, ReplayOutcome
from syncwell.transport.admin import with_stream
from syncwell.workspace import Mode, Workspace

__all__ = [
    "DeadLettersView",
    "IncidentsView",
    "IntegrationView",
    "OverviewView",
    "dead_letters_view",
    "incidents_view",
    "integration_view",
    "overview_view",
]


@dataclass(frozen=True, slots=True)
class OverviewView:
    """The front page: the map with the constraint, its evidence, every integration."""

    analysis: StoredAnalysis | None
    report: dict[str, Any]
    map_svg: str
    integrations: list[SystemHealth]


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """One integration's page: its flows, their state, plots and incidents."""

    name: str
    row: SystemHealth
    reports: list[FlowReport]
    plots: list[str]
    incidents: list[Incident]
    timeline: str
    """Its incidents on a timeline over the plots' window."""
    window: Window
    manual_only: bool
    """Whether people do all its flows by hand: nothing is measured."""
    tickets_read: bool = False
    """Whether the workspace reads support tickets (`tickets:`)."""
    tickets: TicketCounts | None = None
    """Its support tickets over the window; None when it has none."""


@dataclass(frozen=True, slots=True)
class IncidentsView:
    """The incidents of a week on a timeline, and how the constraint moved."""

    timeline: str
    incidents: list[Incident]
    moves: list[Move]
    mean_resolve_s: float | None
    window: Window


@dataclass(frozen=True, slots=True)
class DeadLettersView:
    """Dead letters of one status (or all), with what became of replayed ones."""

    letters: list[DeadLetter]
    outcomes: dict[int, ReplayOutcome]
    shown: str
    """open, replayed, discarded or all."""
    flow: str | None
    total: int
    """How many there are of that status (and flow); `letters` holds the newest."""


async def overview_view(store: Store, workspace: Workspace) -> OverviewView:
    """The newest analysis drawn on the map, and the integrations' rows."""
    kept = await store.analyses.list(limit=1)
    analysis = kept[-1] if kept else None
    highlight, health = map_overlay(analysis) if analysis else (None, {})
    picture = render_svg(workspace, highlight=highlight, health=health)
    return OverviewView(
        analysis=analysis,
        report=json.loads(analysis.report) if analysis else {},
        map_svg=picture[picture.index("<svg") :],  # inline in HTML: no XML declaration
        integrations=await _integrations(store, workspace, analysis),
    )


async def _integrations(
    store: Store, workspace: Workspace, analysis: StoredAnalysis | None
) -> list[SystemHealth]:
    own = workspace.integrations()
    return [s for s in await systems_health(store, workspace, analysis) if s.name in own]


async def integration_view(
    store: Store, workspace: Workspace, name: str, choice: Choice
) -> IntegrationView | None:
    """The page of integration `name` over the window `choice` (since the first measurement
    of its flows, when that is under a day); None if unknown."""
    flows = workspace.integrations().get(name)
    if flows is None:
        return None
    kept = await store.analyses.list(limit=1)
    (row,) = [r for r in await _integrations(store, workspace, kept[-1] if kept else None)
              if r.name == name]  # fmt: skip
    window = await choose_window(store, flows, choice, time.time(), longest="24h")
    since, until = window.since, window.until
    rows = await store.measurements.history(flows, since=since, until=until)
    plots = integration_plots(
        rows,
        {flow: workspace.flows[flow] for flow in flows},
        since=since,
        until=until,
        # A distributed run's reader relays the journal to the stream: what waits there is
        # not measured by the minute (yet), only shown now, in the flows' table.
        backlog_unit="changes waiting in the journal" if workspace.transport else "changes waiting",
    )
    overlapping = await store.incidents.overlapping(since, until)
    incidents = [i for i in reversed(overlapping) if i.integration == name]  # newest first
    tickets = await ticket_counts(store, since=since) if workspace.tickets else []
    return IntegrationView(
        name=name,
        row=row,
        reports=await with_stream(workspace, await store.reports.flows(flows)),
        plots=plots,
        incidents=incidents,
        timeline=incident_timeline(incidents, [name], since=since, until=until),
        window=window,
        manual_only=all(workspace.flows[flow].mode is Mode.MANUAL for flow in flows),
        tickets_read=workspace.tickets is not None,
        tickets=next((t for t in tickets if t.integration == name), None),
    )


async def incidents_view(store: Store, workspace: Workspace, choice: Choice) -> IncidentsView:
    """The incidents of the window `choice` (since the first measurement, when that is under
    a week), oldest at the left of the timeline, and the constraint's moves."""
    window = await choose_window(store, None, choice, time.time(), longest="7d")
    since, until = window.since, window.until
    found = list(reversed(await store.incidents.overlapping(since, until)))  # newest first
    resolved = [i.resolve_s for i in found if i.resolve_s is not None]
    kept = await store.analyses.list(since=since)
    return IncidentsView(
        timeline=incident_timeline(found, list(workspace.integrations()), since=since, until=until),
        incidents=found,
        moves=list(reversed(moves(kept))),
        mean_resolve_s=sum(resolved) / len(resolved) if resolved else None,
        window=window,
    )


async def dead_letters_view(
    store: Store, *, shown: str, flow: str | None, limit: int = 200
) -> DeadLettersView:
    """The newest `limit` dead letters of status `shown` ("all": any), and what became of
    the replayed ones."""
    status = None if shown == "all" else cast("DeadLetterStatus", shown)
    letters = await store.dead_letters.list(flow=flow, status=status, limit=limit)
    return DeadLettersView(
        letters=letters,
        outcomes=await store.dead_letters.outcomes(letters),
        shown=shown,
        flow=flow,
        total=await store.dead_letters.count(flow=flow, status=status),
    )
