"""The publication and the replication slot of a `mode: cdc` flow: their names, and what the
source database must hold before the flow can stream.

Each flow has a slot of its own, so the slot's confirmed position is exactly the flow's
journaled position (docs/decisions/0024-cdc-by-logical-replication.md). Names syncwell makes
are ``syncwell_<workspace>_<flow>``, lower case, other characters as ``_``, cut to PostgreSQL's
63 and told apart by a hash when cut. A flow's `cdc: {slot:, publication:}` names ones a DBA
made instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import asyncpg

from syncwell.connectors._sql import quote
from syncwell.connectors._table import Table
from syncwell.errors import MisconfiguredError

__all__ = [
    "CaptureNames",
    "SlotPosition",
    "SlotReport",
    "SlotState",
    "capture_names",
    "check_table",
    "drop_capture",
    "prepare_publication",
    "slot_positions",
    "slot_report",
    "syncwell_slots",
]

_LIMIT = 63
"""PostgreSQL's longest identifier (NAMEDATALEN - 1)."""


@dataclass(frozen=True, slots=True)
class CaptureNames:
    """The slot and publication a flow streams through, and whether the user named them."""

    slot: str
    publication: str
    slot_named: bool = False
    publication_named: bool = False


def _derived(workspace: str, flow: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", f"syncwell_{workspace}_{flow}".lower())
    if len(name) <= _LIMIT:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]  # noqa: S324 - a name, not security
    return f"{name[: _LIMIT - 9]}_{digest}"


def capture_names(
    workspace: str, flow: str, slot: str | None = None, publication: str | None = None
) -> CaptureNames:
    """The names of `flow`'s slot and publication: the user's, else derived ones."""
    derived = _derived(workspace, flow)
    return CaptureNames(
        slot or derived, publication or derived, slot is not None, publication is not None
    )


@dataclass(frozen=True, slots=True)
class SlotState:
    """A replication slot as pg_replication_slots shows it."""

    plugin: str | None
    database: str | None
    active_pid: int | None
    confirmed_flush: str | None
    wal_status: str | None = None
    """'reserved', 'extended', 'unreserved', or 'lost': invalidated, its changes gone."""

    @staticmethod
    async def read(connection: asyncpg.Connection, slot: str) -> SlotState | None:
        """The slot named `slot`, or None when there is none."""
        row = await connection.fetchrow(
            "SELECT plugin, database, active_pid, confirmed_flush_lsn::text, wal_status "
            "FROM pg_replication_slots WHERE slot_name = $1",
            slot,
        )
        return None if row is None else SlotState(row[0], row[1], row[2], row[3], row[4])


async def prepare_publication(
    connection: asyncpg.Connection,
    names: CaptureNames,
    table: Table,
    where: tuple[str, str],
    system: str,
) -> None:
    """Make sure the publication exists and publishes `table`: create syncwell's own, check
    a named one (a DBA's is theirs to change). `where` is the table's schema and name."""
    exists = await connection.fetchval(
        "SELECT true FROM pg_publication WHERE pubname = $1", names.publication
    )
    schema, name = where
    holds = await connection.fetchval(
        "SELECT true FROM pg_publication_tables WHERE pubname = $1 "
        "AND schemaname = $2 AND tablename = $3",
        names.publication,
        schema,
        name,
    )
    if holds:
        return
    if names.publication_named:
        fix = (
            f"ALTER PUBLICATION {quote(names.publication)} ADD TABLE {table.name}"
            if exists
            else f"CREATE PUBLICATION {quote(names.publication)} FOR TABLE {table.name}"
        )
        raise MisconfiguredError(
            f"the publication {names.publication} {'does not publish' if exists else 'for'} "
            f"table {table.name}{'' if exists else ' does not exist'}: run {fix}, or leave "
            "`cdc.publication` out and syncwell makes one",
            system=system,
        )
    if exists:
        await connection.execute(
            f"ALTER PUBLICATION {quote(names.publication)} ADD TABLE {table.name}"
        )
    else:
        await connection.execute(
            f"CREATE PUBLICATION {quote(names.publication)} FOR TABLE {table.name}"
        )


_IDENTITY = """
SELECT c.relreplident::text,
       (SELECT array_agg(a.attname::text) FROM pg_index i
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = c.oid
          AND CASE c.relreplident WHEN 'i' THEN i.indisreplident ELSE i.indisprimary END)
FROM pg_class c WHERE c.oid = to_regclass($1)
"""

_OUT_OF_LINE = """
SELECT a.attname::text FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attstorage <> 'p'
"""


async def check_table(
    connection: asyncpg.Connection,
    table: Table,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    system: str,
) -> None:
    """Refuse a table whose replica identity would lose deletes or TOASTed values.

    An update that leaves a TOASTed value (a large text, jsonb or bytea stored out of line)
    unchanged does not carry it; only with REPLICA IDENTITY FULL does the message hold the old
    row to take it from. A delete carries the replica identity's columns only, so they must
    include the flow's key.
    """
    row = await connection.fetchrow(_IDENTITY, table.name)
    assert row is not None, "described tables exist"
    identity, identity_columns = str(row[0]), set(row[1] or ())
    full = f"ALTER TABLE {table.name} REPLICA IDENTITY FULL"
    if identity == "n":
        raise MisconfiguredError(
            f"table {table.name} has REPLICA IDENTITY NOTHING: PostgreSQL refuses updates and "
            f"deletes of a published table without one; run {full}",
            system=system,
        )
    if identity != "f" and not set(key) <= identity_columns:
        raise MisconfiguredError(
            f"a delete in table {table.name} names its replica identity "
            f"({', '.join(sorted(identity_columns)) or 'none'}), not the flow's key "
            f"({', '.join(key)}); run {full}, or make the key the primary key",
            system=system,
        )
    if identity == "f":
        return
    out_of_line = {str(r[0]) for r in await connection.fetch(_OUT_OF_LINE, table.name)}
    at_risk = sorted(out_of_line.intersection(columns or table.types))
    if at_risk:
        raise MisconfiguredError(
            f"table {table.name} has columns PostgreSQL may store out of line (TOAST): "
            f"{', '.join(at_risk)}; an update that leaves one unchanged does not carry its "
            f"value unless the table has REPLICA IDENTITY FULL, so run {full} "
            "(docs/cdc.md says what it costs)",
            system=system,
        )


@dataclass(frozen=True, slots=True)
class SlotReport:
    """How a flow's slot stands: whether it exists and streams, and the WAL it keeps.

    Attributes:
        exists: whether the slot exists.
        active: whether a process streams from it now.
        retained_bytes: WAL the server keeps for it (from its restart point to the end of
            the WAL): what a slot nobody reads costs in disk.
        unconfirmed_bytes: WAL written after its confirmed position: how far behind the
            journal is.
    """

    exists: bool
    active: bool = False
    retained_bytes: int | None = None
    unconfirmed_bytes: int | None = None


async def slot_report(connection: asyncpg.Connection, slot: str) -> SlotReport:
    """The slot `slot` as the server sees it now."""
    row = await connection.fetchrow(
        "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
        "FROM pg_replication_slots WHERE slot_name = $1",
        slot,
    )
    if row is None:
        return SlotReport(exists=False)
    return SlotReport(True, bool(row[0]), row[1], row[2])


async def drop_capture(connection: asyncpg.Connection, names: CaptureNames, system: str) -> bool:
    """Drop the slot, and the publication when syncwell made it (a DBA's stays theirs);
    whether a slot was dropped.

    Raises:
        MisconfiguredError: a process streams from the slot: stop it first.
    """
    state = await SlotState.read(connection, names.slot)
    if state is not None and state.active_pid is not None:
        raise MisconfiguredError(
            f"replication slot {names.slot} is in use by process {state.active_pid}: stop "
            "the syncwell run that streams it first",
            system=system,
        )
    if state is not None:
        await connection.execute("SELECT pg_drop_replication_slot($1)", names.slot)
    if not names.publication_named:
        await connection.execute(f"DROP PUBLICATION IF EXISTS {quote(names.publication)}")
    return state is not None


@dataclass(frozen=True, slots=True)
class SlotPosition:
    """A slot's positions as numbers (bytes into the WAL), for measuring its health.

    Attributes:
        slot: its name.
        active: whether a process streams from it now.
        restart: its restart point: the server keeps the WAL from here on (None: invalidated).
        confirmed: its confirmed position (`confirmed_flush_lsn`).
        publication: whether a publication of the same name exists in its database.
    """

    slot: str
    active: bool
    restart: int | None
    confirmed: int | None
    publication: bool = False


_POSITIONS = """
SELECT s.slot_name::text, s.active, s.restart_lsn - '0/0', s.confirmed_flush_lsn - '0/0',
       EXISTS (SELECT 1 FROM pg_publication p WHERE p.pubname = s.slot_name)
FROM pg_replication_slots s
WHERE s.database = current_database() AND s.slot_type = 'logical'
"""


async def slot_positions(
    connection: asyncpg.Connection, slots: list[str] | None = None
) -> tuple[int, dict[str, SlotPosition]]:
    """Where the WAL ends now, and the logical slots of the connection's database (those
    named `slots`, or all), by name. The end is read after the slots, so it is at or past
    every position they show."""
    rows = await connection.fetch(_POSITIONS)
    wal_end = int(await connection.fetchval("SELECT pg_current_wal_lsn() - '0/0'"))
    found = {
        str(row[0]): SlotPosition(
            str(row[0]),
            bool(row[1]),
            None if row[2] is None else int(row[2]),
            None if row[3] is None else int(row[3]),
            bool(row[4]),
        )
        for row in rows
        if slots is None or row[0] in slots
    }
    return wal_end, found


async def syncwell_slots(connection: asyncpg.Connection) -> tuple[int, list[SlotPosition]]:
    """Where the WAL ends now, and the logical slots of the connection's database whose names
    syncwell makes (``syncwell_...``), by name."""
    wal_end, found = await slot_positions(connection)
    return wal_end, [found[name] for name in sorted(found) if name.startswith("syncwell_")]
