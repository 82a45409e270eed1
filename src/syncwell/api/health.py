"""How each system stands, from the state store: for an external system (an integration),
its place in the newest analysis, its open incidents and its open dead letters. The REST
API's /systems and the dashboard's overview both show it.

And whether this process can do its job now (`Readiness`, for ``/readyz``)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from syncwell.engine import Engine
from syncwell.errors import StoreError
from syncwell.store import Store, StoredAnalysis
from syncwell.transport.admin import TransportProbe
from syncwell.workspace import Workspace

__all__ = ["Readiness", "SystemHealth", "systems_health"]

_STORE_ANSWER_S = 3.0
"""How long the state store may take to answer a probe's question before it counts as down."""


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


class Readiness:
    """Whether this process can do its job now, in a few words when it cannot (``/readyz``).

    A process is ready when its engine runs, its state store answers and, with a transport,
    NATS is connected and the workspace's stream exists; a worker also needs the consumers of
    its flows' partitions. `syncwell serve` (no engine) needs only the state store.
    """

    def __init__(
        self,
        store: Callable[[], Awaitable[Store]],
        engine: Engine | None,
        probe: TransportProbe | None,
    ) -> None:
        self._store = store
        self._engine = engine
        self.probe = probe
        """The transport's probe; the app closes it when it stops."""

    @classmethod
    def of(cls, store: Callable[[], Awaitable[Store]], engine: Engine | None) -> Readiness:
        """The readiness of a process running `engine` (None: the API alone) on `store`."""
        probe = None
        if engine is not None:
            probe = TransportProbe.of(engine.workspace, worker=engine.role == "deliver")
        return cls(store, engine, probe)

    async def problem(self) -> str | None:
        """What keeps the process from its job; None when nothing does."""
        if self._engine is not None and not self._engine.ready:
            return "not running"  # starting, or stopping
        try:
            async with asyncio.timeout(_STORE_ANSWER_S):
                store = await self._store()
                async with store.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"the state store did not answer within {_STORE_ANSWER_S:g} s"
        except (StoreError, SQLAlchemyError, OSError) as error:
            return f"the state store does not answer: {str(error).splitlines()[0][:200]}"
        return None if self.probe is None else await self.probe.problem()
