"""What each dashboard page shows, gathered from the state store as plain values for its
template. The pages read the store, never a running engine (like the REST API)."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from syncwell.analyze import moves
from syncwell.analyze.history import Move
from syncwell.api.dashboard.plots import integration_plots
from syncwell.api.dashboard.timeline import incident_timeline
from syncwell.engine.admin import map_overlay
from syncwell.map import render_svg
from syncwell.store import DeadLetter, FlowReport, Incident, Store, StoredAnalysis
from syncwell.store.dead_letters import DeadLetterStatus, ReplayOutcome
from syncwell.workspace import Workspace

__all__ = [
    "DeadLettersView",
    "IncidentsView",
    "IntegrationRow",
    "IntegrationView",
    "OverviewView",
    "dead_letters_view",
    "incidents_view",
    "integration_view",
    "integrations_of",
    "overview_view",
]

WINDOWS = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
"""The windows an integration's plots offer, by their label."""


@dataclass(frozen=True, slots=True)
class IntegrationRow:
    """One integration as the overview lists it."""

    name: str
    flows: list[str]
    verdict: dict[str, Any] | None
    """Its line of the newest analysis' ranking, if it was judged."""
    is_constraint: bool
    open_incidents: int
    dead_letters: int


@dataclass(frozen=True, slots=True)
class OverviewView:
    """The front page: the map with the constraint, its evidence, every integration."""

    analysis: StoredAnalysis | None
    report: dict[str, Any]
    map_svg: str
    integrations: list[IntegrationRow]


@dataclass(frozen=True, slots=True)
class IntegrationView:
    """One integration's page: its flows, their state, plots and incidents."""

    name: str
    row: IntegrationRow
    reports: list[FlowReport]
    plots: list[str]
    incidents: list[Incident]
    window: str


@dataclass(frozen=True, slots=True)
class IncidentsView:
    """The incidents of a week on a timeline, and how the constraint moved."""

    timeline: str
    incidents: list[Incident]
    moves: list[Move]
    mean_resolve_s: float | None


@dataclass(frozen=True, slots=True)
class DeadLettersView:
    """Dead letters of one status (or all), with what became of replayed ones."""

    letters: list[DeadLetter]
    outcomes: dict[int, ReplayOutcome]
    status: DeadLetterStatus | None
    flow: str | None
    counts: dict[str, int] = field(default_factory=dict)


def integrations_of(workspace: Workspace) -> dict[str, list[str]]:
    """Each integration (external system) and its flows, in the workspace's order."""
    found: dict[str, list[str]] = {}
    for name, flow in workspace.flows.items():
        found.setdefault(flow.integration, []).append(name)
    return found


async def overview_view(store: Store, workspace: Workspace) -> OverviewView:
    """The newest analysis drawn on the map, and the integrations' rows."""
    kept = await store.analyses.list(limit=1)
    analysis = kept[-1] if kept else None
    report: dict[str, Any] = json.loads(analysis.report) if analysis else {}
    highlight, health = map_overlay(analysis) if analysis else (None, {})
    rows = await _integration_rows(store, workspace, report)
    return OverviewView(
        analysis=analysis,
        report=report,
        map_svg=render_svg(workspace, highlight=highlight, health=health),
        integrations=rows,
    )


async def _integration_rows(
    store: Store, workspace: Workspace, report: dict[str, Any]
) -> list[IntegrationRow]:
    ranking = {line["integration"]: line for line in report.get("ranking", [])}
    constraint = (report.get("constraint") or {}).get("integration")
    open_by = Counter(i.integration for i in await store.incidents.list(open_only=True))
    dead = await store.dead_letters.counts()
    return [
        IntegrationRow(
            name=name,
            flows=flows,
            verdict=ranking.get(name),
            is_constraint=name == constraint,
            open_incidents=open_by[name],
            dead_letters=sum(dead.get(flow, 0) for flow in flows),
        )
        for name, flows in integrations_of(workspace).items()
    ]


async def integration_view(
    store: Store, workspace: Workspace, name: str, window: str
) -> IntegrationView | None:
    """The page of integration `name` over `window` (a key of WINDOWS); None if unknown."""
    flows = integrations_of(workspace).get(name)
    if flows is None:
        return None
    overview = await overview_view(store, workspace)
    (row,) = [r for r in overview.integrations if r.name == name]
    until = time.time()
    since = until - WINDOWS[window]
    rows = await store.measurements.history(flows, since=since, until=until)
    plots = integration_plots(
        rows, {flow: workspace.flows[flow] for flow in flows}, since=since, until=until
    )
    incidents = [i for i in await store.incidents.list(since=since) if i.integration == name]
    return IntegrationView(
        name=name,
        row=row,
        reports=await store.reports.flows(flows),
        plots=plots,
        incidents=incidents,
        window=window,
    )


async def incidents_view(store: Store, workspace: Workspace, *, days: int = 7) -> IncidentsView:
    """A week of incidents, oldest at the left of the timeline, and the constraint's moves."""
    until = time.time()
    since = until - days * 86400.0
    found = await store.incidents.list(since=since)
    resolved = [i.resolve_s for i in found if i.resolve_s is not None]
    kept = await store.analyses.list(since=since)
    return IncidentsView(
        timeline=incident_timeline(
            found, list(integrations_of(workspace)), since=since, until=until
        ),
        incidents=found,
        moves=list(reversed(moves(kept))),
        mean_resolve_s=sum(resolved) / len(resolved) if resolved else None,
    )


async def dead_letters_view(
    store: Store, *, status: DeadLetterStatus | None, flow: str | None, limit: int = 200
) -> DeadLettersView:
    """The newest dead letters of `status` (None: all), and replayed ones' outcomes."""
    letters = await store.dead_letters.list(flow=flow, status=status, limit=limit)
    return DeadLettersView(
        letters=letters,
        outcomes=await store.dead_letters.outcomes(letters),
        status=status,
        flow=flow,
        counts=await store.dead_letters.counts(),
    )
