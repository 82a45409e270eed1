"""Read-after-write verification on the database destinations and in the engine: a
PostgreSQL table read back by its keys (one SELECT), values compared across types, a field a
trigger throws away caught as drift, and a read-back that never races the next write."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell import Engine, load_workspace
from syncwell.connectors import postgres, sqlite
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.verify import ABSENT, ReadRecords
from syncwell.engine.drift import compare, same
from syncwell.engine.verify import FlowVerifier, VerifyPlan
from syncwell.store import Store, open_store
from syncwell.types import ChangeBatch, Op, StreamSpec, SystemClock
from syncwell.workspace.verify import Verify
from tests.conftest import PG_DSN

SPEC = StreamSpec("t", ("id",), ("id", "title", "priority", "due", "done", "v"), version="v")
ROWS = [
    (1, "write the docs", 2, dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC), True, 1),
    (2, "review", 5, dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC), False, 1),
]


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        (5, "5"),
        (5, 5.0),
        (Decimal("1.50"), 1.5),
        (0.1, 0.10000000149011612),  # a float kept in 32 bits
        (True, 1),
        ("t", True),
        (None, ""),
        (None, ABSENT),
        (dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC), "2026-01-01T10:00:00Z"),
        (dt.datetime(2026, 1, 1, 10), "2026-01-01 11:00:00.400+01"),  # naive is UTC
        (dt.date(2026, 1, 1), "2026-01-01"),
        ({"a": [1, 2]}, '{"a": [1, 2]}'),
        (" spaced ", "spaced"),
    ],
)
def test_values_that_are_the_same_across_types(sent: object, read: object) -> None:
    """What a destination hands back in another type or form is the value that was sent."""
    assert same(sent, read)


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        (50, ABSENT),
        (50, None),
        ("a", "b"),
        (1, 2),
        (dt.datetime(2026, 1, 1, 10), "2026-01-01T10:00:05Z"),
        ("2026-01-01", "2026-01-02"),
        (True, False),
        ({"a": 1}, {"a": 2}),
    ],
)
def test_values_that_differ(sent: object, read: object) -> None:
    """A value the destination did not keep is not the same, whatever its type."""
    assert not same(sent, read)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(_JSON)
def test_every_value_is_the_same_as_itself(value: object) -> None:
    """A destination that keeps a value exactly never shows drift, whatever the value."""
    assert same(value, value)


@given(
    st.integers(-(10**15), 10**15) | st.decimals(allow_nan=False, allow_infinity=False, places=4)
)
def test_a_number_is_the_same_as_its_text(number: int | Decimal) -> None:
    """A number written and read back as text (or the other way) is not drift."""
    assert same(number, str(number)) and same(str(number), number)


@pytest.fixture
async def table(pg: asyncpg.Connection, pg_schema: str) -> str:
    await pg.execute(
        f"CREATE TABLE {pg_schema}.t (id int PRIMARY KEY, title text, priority int, "
        "due timestamptz, done boolean, v int)"
    )
    return pg_schema


async def test_a_postgres_table_is_read_back_by_its_keys(
    table: str, pg: asyncpg.Connection
) -> None:
    """Two rows written to PostgreSQL and read back in one SELECT come back the same; a key
    never written is reported as not there, and a row whose priority a trigger threw away
    is drift on priority alone."""
    settings = postgres.Settings(kind="postgres", dsn=PG_DSN, schema=table)
    destination = await postgres.open_destination("replica", settings)
    try:
        await destination.write(SPEC, ChangeBatch(SPEC.columns, ROWS))
        asked = ChangeBatch(SPEC.columns, [*ROWS, (3, "never", 1, None, None, 1)])
        found = await destination.read_written(SPEC, asked, IdentityBook())
        assert found["3"] is None
        result = compare(asked, found, SPEC)
        assert (result.verified, result.drifted, result.missing) == (3, 1, 1)
        assert result.fields == {}
        await pg.execute(f"UPDATE {table}.t SET priority = 0 WHERE id = 2")
        result = compare(asked, await destination.read_written(SPEC, asked, IdentityBook()), SPEC)
        assert result.fields == {"priority": 1}
        assert result.examples["priority"] == ("2", "5", "0")
    finally:
        await destination.aclose()


async def test_a_newer_version_in_the_table_is_not_drift(
    table: str, pg: asyncpg.Connection
) -> None:
    """A record the table already holds a newer version of (written after, or kept by the
    version guard) proves nothing about this write: it is skipped, not counted as drift."""
    settings = postgres.Settings(kind="postgres", dsn=PG_DSN, schema=table)
    destination = await postgres.open_destination("replica", settings)
    try:
        await destination.write(SPEC, ChangeBatch(SPEC.columns, ROWS))
        await pg.execute(f"UPDATE {table}.t SET title = 'renamed', v = 2 WHERE id = 1")
        found = await destination.read_written(
            SPEC, ChangeBatch(SPEC.columns, ROWS), IdentityBook()
        )
        result = compare(ChangeBatch(SPEC.columns, ROWS), found, SPEC)
        assert (result.verified, result.superseded, result.drifted) == (1, 1, 0)
    finally:
        await destination.aclose()


def test_a_record_changed_in_the_tool_after_the_write_is_not_drift() -> None:
    """In a two-way pair the tool stamps its own last change (the cursor the other flow
    reads it by). A phone number a person changed there a moment after syncwell wrote it
    comes back different, stamped after the write: not judged. The same value stamped
    before the write finished is drift: the tool did not keep what it was sent."""
    spec = StreamSpec("contacts", ("email",), ("email", "phone"), cursor="updated_at")
    batch = ChangeBatch(spec.columns, [("a@x.io", "+1-555-0100")])
    written_at = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC).timestamp()
    later = {"email": "a@x.io", "phone": "+1-555-0199", "updated_at": "2026-12-07T10:00:05Z"}
    result = compare(batch, {"a@x.io": later}, spec, written_at=written_at)
    assert (result.verified, result.superseded, result.drifted) == (0, 1, 0)
    kept_old = {**later, "updated_at": "2026-12-07T10:00:00.300Z"}
    result = compare(batch, {"a@x.io": kept_old}, spec, written_at=written_at)
    assert (result.verified, result.drifted, dict(result.fields)) == (1, 1, {"phone": 1})


async def test_a_sqlite_table_is_read_back_by_a_key_of_two_columns(tmp_path: Path) -> None:
    """SQLite stores a timestamp as text and a boolean as 1: read back, neither is drift; a
    key of two columns finds each record."""
    spec = StreamSpec("t", ("org", "id"), ("org", "id", "at", "done"))
    with sqlite3.connect(tmp_path / "d.db") as db:
        db.execute(
            "CREATE TABLE t (org TEXT, id INTEGER, at TEXT, done INTEGER, PRIMARY KEY (org, id))"
        )
    destination = await sqlite.open_destination(
        "d", sqlite.Settings(kind="sqlite", path=str(tmp_path / "d.db"))
    )
    rows = [("eu", 1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), True), ("us", 1, None, False)]
    try:
        await destination.write(spec, ChangeBatch(spec.columns, rows))
        batch = ChangeBatch(spec.columns, rows)
        found = await destination.read_written(spec, batch, IdentityBook())
        result = compare(batch, found, spec)
        assert (result.verified, result.drifted) == (2, 0)
    finally:
        await destination.aclose()


ENGINE_WORKSPACE = """
core: core
systems:
  core: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  replica: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  tasks_out:
    source: core
    destination: replica
    stream: tasks
    target: t
    key: id
    cursor: v
    lookback: 0s
    deletes: {{detect: none}}
"""


async def test_a_postgres_flow_reads_its_writes_back_and_finds_what_a_trigger_dropped(
    table: str, pg: asyncpg.Connection, tmp_path: Path
) -> None:
    """Between two PostgreSQL systems (records travel as COPY text) the engine reads the
    written rows back: timestamps, booleans and numbers stick, and the priority a trigger
    on the replica throws away is drift on priority for each row, with an incident."""
    await pg.execute(
        f"""
        CREATE TABLE {table}.tasks (id int PRIMARY KEY, title text, priority int,
                                   due timestamptz, done boolean, v int);
        CREATE FUNCTION {table}.no_priority() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.priority := NULL; RETURN NEW; END $$;
        CREATE TRIGGER no_priority BEFORE INSERT OR UPDATE ON {table}.t
        FOR EACH ROW EXECUTE FUNCTION {table}.no_priority();
        """
    )
    await pg.executemany(f"INSERT INTO {table}.tasks VALUES ($1, $2, $3, $4, $5, $6)", ROWS)
    path = tmp_path / "syncwell.yaml"
    path.write_text(ENGINE_WORKSPACE.format(dsn=PG_DSN, schema=table))
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    store = await open_store(load_workspace(path).state)
    try:
        found = (await store.verifications.of(["tasks_out"]))["tasks_out"]
        incidents = await store.incidents.list()
    finally:
        await store.close()
    assert (found.verified, found.drifted, found.missing) == (2, 2, 0)
    assert [(drift.field, drift.drifted) for drift in found.fields] == [("priority", 2)]
    assert [incident.cause for incident in incidents] == ["drift"]


class _SlowReader:
    """A destination whose read-back waits until the test lets it go, and then holds what
    was written, or the `newer` value of a key written again meanwhile."""

    def __init__(self, newer: dict[str, str] | None = None) -> None:
        self.release = asyncio.Event()
        self.reads = 0
        self.newer = newer or {}

    async def read_written(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> ReadRecords:
        self.reads += 1
        await self.release.wait()
        held: dict[str, dict[str, object]] = {}
        for row in batch.rows:
            key = str(row[0])
            held[key] = {"id": row[0], "n": self.newer.get(key, row[1])}
        return held


async def test_the_next_write_never_waits_and_a_key_written_again_is_not_judged(
    state_store: Store,
) -> None:
    """While batch 1 is read back (slowly), the next batches are written at once: the
    delivery never waits on a read-back. Key 1, written again meanwhile, comes back with its
    newer value: not judged as drift by batch 1's read-back. A third batch while two
    read-backs are in flight is not read back at all (verification never runs far behind)."""
    reader = _SlowReader(newer={"1": "a2"})
    spec = StreamSpec("t", ("id",), ("id", "n"))
    plan = VerifyPlan("f", Verify(first=10), spec, ("id",))
    verifier = FlowVerifier(plan, reader, state_store, SystemClock())
    first = ChangeBatch(spec.columns, [(1, "a"), (2, "b")])
    await verifier.clear_of(first)
    verifier.written(first, lambda batch: batch, IdentityBook())
    again = ChangeBatch(spec.columns, [(1, "a2")])
    await asyncio.wait_for(verifier.clear_of(again), 0.5)  # not held up
    verifier.written(again, lambda batch: batch, IdentityBook())
    third = ChangeBatch(spec.columns, [(3, "c")])
    await asyncio.wait_for(verifier.clear_of(third), 0.5)
    verifier.written(third, lambda batch: batch, IdentityBook())
    reader.release.set()
    await verifier.close()
    assert reader.reads == 2  # batches 1 and 2; not 3
    assert (verifier.totals.verified, verifier.totals.drifted) == (2, 0)  # 2 of batch 1, 1 of 2
    assert verifier.totals.unread == 1  # key 1 in batch 1: written again, not judged


async def test_a_stop_drops_the_read_backs_in_flight(state_store: Store) -> None:
    """`close(finish=False)` (a stop, not a one-off run's end) does not wait for a slow
    read-back: nothing is counted from it."""
    reader = _SlowReader()
    spec = StreamSpec("t", ("id",), ("id", "n"))
    verifier = FlowVerifier(
        VerifyPlan("f", Verify(), spec, ("id",)), reader, state_store, SystemClock()
    )
    batch = ChangeBatch(spec.columns, [(1, "a")])
    await verifier.clear_of(batch)
    verifier.written(batch, lambda written: written, IdentityBook())
    await asyncio.sleep(0)
    await asyncio.wait_for(verifier.close(finish=False), 1)
    assert verifier.totals.verified == 0


async def test_deletes_and_dead_letters_are_not_read_back(state_store: Store) -> None:
    """A delete has nothing to read back, and a record set aside as a dead letter was not
    written: neither is read back or counted."""
    reader = _SlowReader()
    reader.release.set()
    spec = StreamSpec("t", ("id",), ("id", "n"))
    verifier = FlowVerifier(
        VerifyPlan("f", Verify(), spec, ("id",)), reader, state_store, SystemClock()
    )
    batch = ChangeBatch(
        spec.columns, [(1, "a"), (2, "b"), (3, "c")], [Op.UPSERT, Op.DELETE, Op.UPSERT]
    )
    await verifier.clear_of(batch)
    verifier.written(batch, lambda written: written, IdentityBook(), refused=["3"])
    await verifier.close()
    assert verifier.totals.verified == 1
    assert (await state_store.verifications.of(["f"]))["f"].verified == 1
