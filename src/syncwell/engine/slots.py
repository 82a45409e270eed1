"""The replication slots of a run's `mode: cdc` flows, measured at every flush of the observer.

For each source database it reads, in one connection, its slots' positions and where its WAL
ends, notes that end on the database's `WalTimeline`, and turns each flow's slot into a
`SlotHealth`: the WAL kept in bytes, and how far behind in time the confirmed position is
(measure/slots.py says how). A database that does not answer is a health with its error, not
a failed flush.

`orphan_slots` serves `syncwell check`: the slots syncwell made that no flow uses any more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import structlog

from syncwell.connectors import postgres
from syncwell.connectors.postgres.cdc import CaptureNames
from syncwell.connectors.postgres.cdc.names import SlotPosition, slot_positions, syncwell_slots
from syncwell.connectors.postgres.pgoutput import parse_lsn
from syncwell.engine.capture import flow_capture_names
from syncwell.measure.slots import SlotHealth, WalTimeline
from syncwell.types import Checkpoint
from syncwell.workspace import Flow, Mode, Workspace
from syncwell.workspace.modes import DEFAULT_MAX_RETAINED

__all__ = ["Orphan", "SlotWatch", "orphan_slots", "slot_watch"]

log = structlog.get_logger("syncwell.slots")

_CONNECT_S = 5.0
"""At most this long to connect for a measurement: a flush must not wait on a dead database."""


@dataclass(frozen=True, slots=True)
class _Watched:
    flow: str
    names: CaptureNames
    limit_bytes: int


class SlotWatch:
    """Measures the slots of a run's CDC flows, by source database.

    Args:
        databases: each source database's libpq URL and connect timeout, with the flows
            whose slots it holds.
    """

    def __init__(self, databases: Mapping[str, tuple[postgres.Settings, list[_Watched]]]) -> None:
        self._databases = databases
        self._timelines = {dsn: WalTimeline() for dsn in databases}

    async def sample(
        self, now: float, checkpoints: Mapping[str, tuple[Checkpoint | None, float | None]]
    ) -> dict[str, SlotHealth]:
        """Each watched flow's slot now; `checkpoints` are the store's (each flow's and when
        it was journaled), which bound the age of a position older than the first note."""
        found: dict[str, SlotHealth] = {}
        for dsn, (settings, watched) in self._databases.items():
            try:
                wal_end, slots = await self._read(settings, [w.names.slot for w in watched])
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.info("replication slots not measured", error=str(error))
                for each in watched:
                    found[each.flow] = SlotHealth(
                        each.names.slot, None, None, each.limit_bytes, error=str(error) or "?"
                    )
                continue
            timeline = self._timelines[dsn]
            timeline.note(now, wal_end)
            for each in watched:
                position = slots.get(each.names.slot)
                found[each.flow] = self._health(
                    each, position, wal_end, timeline, now, checkpoints.get(each.flow)
                )
            confirmed = [s.confirmed for s in slots.values() if s.confirmed is not None]
            timeline.forget_before(min(confirmed, default=wal_end))
        return found

    async def _read(
        self, settings: postgres.Settings, slots: list[str]
    ) -> tuple[int, dict[str, SlotPosition]]:
        connection = await asyncpg.connect(
            settings.dsn.get_secret_value(), timeout=min(_CONNECT_S, settings.connect_timeout_s)
        )
        try:
            return await slot_positions(connection, slots)
        finally:
            await connection.close()

    def _health(
        self,
        watched: _Watched,
        position: SlotPosition | None,
        wal_end: int,
        timeline: WalTimeline,
        now: float,
        checkpoint: tuple[Checkpoint | None, float | None] | None,
    ) -> SlotHealth:
        slot, limit = watched.names.slot, watched.limit_bytes
        if position is None or position.restart is None or position.confirmed is None:
            return SlotHealth(slot, None, None, limit, exists=position is not None)
        passed_by = None
        mark, marked_at = checkpoint or (None, None)
        held = mark is not None and mark.get("slot") == slot and marked_at is not None
        if held and mark is not None and parse_lsn(str(mark.get("lsn"))) >= position.confirmed:
            passed_by = marked_at  # the journal held it then: the WAL had passed it by then
        age = timeline.age(position.confirmed, now, passed_by=passed_by)
        return SlotHealth(slot, max(0, wal_end - position.restart), age, limit)


def slot_watch(workspace: Workspace, flows: Sequence[Flow]) -> SlotWatch | None:
    """The watch of `flows`' slots; None when none of them is `mode: cdc` from PostgreSQL."""
    databases: dict[str, tuple[postgres.Settings, list[_Watched]]] = {}
    for flow in flows:
        settings = workspace.systems[flow.source].settings
        if flow.mode is not Mode.CDC or not isinstance(settings, postgres.Settings):
            continue
        names = flow_capture_names(workspace, flow)
        limit = DEFAULT_MAX_RETAINED if flow.cdc is None else flow.cdc.max_retained
        dsn = settings.dsn.get_secret_value()
        databases.setdefault(dsn, (settings, []))[1].append(_Watched(flow.name, names, limit))
    return SlotWatch(databases) if databases else None


@dataclass(frozen=True, slots=True)
class Orphan:
    """A slot syncwell made (``syncwell_...``) that no flow of the workspace streams from.

    Attributes:
        system: the postgres system whose database holds it.
        slot: its name.
        active: whether a process streams from it now (another workspace's run?).
        retained_bytes: the WAL it keeps; None when invalidated.
        publication: whether a publication of the same name exists (syncwell's own).
    """

    system: str
    slot: str
    active: bool
    retained_bytes: int | None
    publication: bool

    def drop_sql(self) -> str:
        """The statements that drop it (and its publication), to run in its database."""
        sql = f"SELECT pg_drop_replication_slot('{self.slot}');"
        return f"{sql} DROP PUBLICATION IF EXISTS {self.slot};" if self.publication else sql


async def orphan_slots(workspace: Workspace) -> tuple[list[Orphan], dict[str, str]]:
    """The syncwell slots in the databases of the workspace's postgres systems that none of
    its `mode: cdc` flows uses, and the systems that could not be looked at, with why.
    A database two systems share is looked at once."""
    used = {
        flow_capture_names(workspace, flow).slot
        for flow in workspace.flows.values()
        if flow.mode is Mode.CDC
    }
    orphans: list[Orphan] = []
    unreachable: dict[str, str] = {}
    seen: set[str] = set()
    for system in workspace.systems.values():
        settings = system.settings
        if not isinstance(settings, postgres.Settings):
            continue
        dsn = settings.dsn.get_secret_value()
        if dsn in seen:
            continue
        seen.add(dsn)
        try:
            connection = await asyncpg.connect(
                dsn, timeout=min(_CONNECT_S, settings.connect_timeout_s)
            )
            try:
                wal_end, slots = await syncwell_slots(connection)
            finally:
                await connection.close()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            unreachable[system.name] = str(error) or type(error).__name__
            continue
        orphans += [
            Orphan(
                system.name,
                slot.slot,
                slot.active,
                None if slot.restart is None else max(0, wal_end - slot.restart),
                slot.publication,
            )
            for slot in slots
            if slot.slot not in used
        ]
    return orphans, unreachable
