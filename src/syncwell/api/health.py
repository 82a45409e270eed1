"""How each system stands, from the state store: for an external system (an integration),
its place in the newest analysis, its open incidents and its open dead letters. The REST
API's /systems and the dashboard's overview both show it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from syncwell.store import Store, StoredAnalysis
from syncwell.workspace import Workspace

__all__ = ["SystemHealth", "systems_health"]


@dataclass(frozen=True, slots=True)
class SystemHealth:
    """One system and how it stands."""

    name: str
    kind: str
    core: bool
    flows: list[str]
    """The flows it is a side of, in the workspace's order."""
    judged: bool
    """Whether the newest analysis judged it (the core too, ranked with the integrations)."""
    reason: str | None
    """Why it breaks an SLO in the newest analysis; None when within them or not judged."""
    severity: float | None
    """How many times over its limit its worst flow is (above 1 it breaks its SLO)."""
    worst_flow: str | None
    constraint: bool
    """Whether it is the constraint the newest analysis named."""
    open_incidents: int
    open_dead_letters: int


async def systems_health(
    store: Store, workspace: Workspace, newest: StoredAnalysis | None
) -> list[SystemHealth]:
    """Every system of `workspace`, as the store and the `newest` kept analysis tell it."""
    report = json.loads(newest.report) if newest is not None else {}
    ranking = {line["integration"]: line for line in report.get("ranking", [])}
    open_by = Counter(i.integration for i in await store.incidents.list(open_only=True))
    dead = await store.dead_letters.counts()
    integrations = workspace.integrations()
    sides: dict[str, list[str]] = {}  # one pass: each system's flows, in file order
    for flow_name, flow in workspace.flows.items():
        for side in dict.fromkeys((flow.source, flow.destination)):
            sides.setdefault(side, []).append(flow_name)
    found = []
    for name, system in workspace.systems.items():
        own = integrations.get(name, [])
        line = ranking.get(name, {})
        found.append(
            SystemHealth(
                name=name,
                kind=system.kind,
                core=name == workspace.core,
                flows=sides.get(name, []),
                judged=bool(line),
                reason=line.get("reason"),
                severity=line.get("severity"),
                worst_flow=line.get("flow"),
                constraint=newest is not None and newest.integration == name,
                open_incidents=open_by[name],
                open_dead_letters=sum(dead.get(flow, 0) for flow in own),
            )
        )
    return found
