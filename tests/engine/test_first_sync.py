"""A flow's first sync over data that already exists on both sides: it compares before it
writes, so equal records are not written, and ids a tool assigned are matched by natural key.

Seen against a real tool: starting a flow over 1,080 rows that already matched PATCHed them all.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from syncwell import Engine, load_workspace
from syncwell.cli import app
from syncwell.connectors import Source, open_source
from syncwell.engine import admin
from syncwell.engine.comparison import ComparePlan, compare_plan
from syncwell.engine.firstsync import FirstSync
from syncwell.engine.plan import plan_workspace
from syncwell.store import IdentityScope, open_store
from syncwell.types import ChangeBatch, SystemClock
from tests.conftest import PG_DSN
from tests.connectors.http import tracker
from tests.connectors.http.tracker import (
    ISSUES_FIND,
    ISSUES_WRITE,
    Tracker,
    TrackerServer,
    tracker_workspace,
)
from tests.pgdata import checksum, create_contacts, fill_contacts

ROWS = 1000
DIFFER = 10

runner = CliRunner()


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


@pytest.fixture
def state(tracker_url: str) -> Tracker:
    return tracker.reset()


def _tracked(root: Path, url: str, state: Tracker, *, only_in_core: int = 0) -> Path:
    """A core table of ROWS tasks (and `only_in_core` more) and a tracker that already holds
    the ROWS as issues with its own ids, DIFFER of them with another status."""
    with sqlite3.connect(root / "app.db") as db:
        db.execute(
            "CREATE TABLE tasks (id INTEGER PRIMARY KEY, subject TEXT, status TEXT, version INT)"
        )
        rows = [(i, f"task {i}", "open", i) for i in range(1, ROWS + only_in_core + 1)]
        db.executemany("INSERT INTO tasks VALUES (?, ?, ?, ?)", rows)
    for i in range(1, ROWS + 1):
        number = 500 + i  # the tracker's own ids, unrelated to the core's keys
        status = "closed" if i <= DIFFER else "open"
        state.issues[number] = {
            "id": number, "external_id": i, "subject": f"task {i}", "status": status, "version": i,
        }  # fmt: skip
    path = root / "syncwell.yaml"
    write = {**ISSUES_WRITE, "find": ISSUES_FIND}
    path.write_text(tracker_workspace(url, ("subject", "status"), write=write, read=True))
    return path


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    return engine


async def _mapped(path: Path, keys: list[str]) -> dict[str, str | None]:
    store = await open_store(load_workspace(path).state)
    try:
        return await store.identities.known(IdentityScope("tracker", "issues", "app"), keys)
    finally:
        await store.close()


async def test_a_first_sync_into_a_tool_writes_only_what_differs_and_maps_its_ids(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """The tracker holds the core's 1,000 tasks under its own ids, 10 with another status; one
    task is only in the core. The first sync writes 10 PUTs and one POST, none of the 990 equal
    ones (before: 1,000 finds and 1,001 writes), and fills the identity map by subject, so a
    later edit of other tasks updates their issues (by id, no find) and creates nothing."""
    path = _tracked(tmp_path, tracker_url, state, only_in_core=1)
    engine = await _run(path)
    progress = engine.progress["issues_out"]
    assert (state.posts, state.puts) == (1, DIFFER)
    assert state.finds == 3  # is there anything, the listing, a find before the one create
    assert progress.written == DIFFER + 1 and progress.matched == ROWS - DIFFER
    assert all(issue["status"] == "open" for issue in state.issues.values())
    mapped = await _mapped(path, ["1", "500", "1000", "1001"])
    assert mapped == {"1": "501", "500": "1000", "1000": "1500", "1001": "101"}  # created
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute(
            "UPDATE tasks SET status = 'done', version = id + 5000 WHERE id IN (300, 301, 302)"
        )
    await _run(path)
    assert (state.posts, state.puts, state.finds) == (1, DIFFER + 3, 3)
    assert [state.issues[n]["status"] for n in (800, 801, 802, 803)] == ["done"] * 3 + ["open"]


async def test_the_run_summary_and_status_count_matched_records(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """`matched` is a counter of its own: in the engine's progress, in `status --json`, and
    kept after the run; the written count holds only the writes."""
    path = _tracked(tmp_path, tracker_url, state)
    await _run(path)
    store = await open_store(load_workspace(path).state)
    try:
        (report,) = await store.reports.flows(["issues_out"])
        first = await store.first_syncs.state("issues_out")
    finally:
        await store.close()
    assert report.written == DIFFER and report.matched == ROWS - DIFFER
    assert first is not None and first.finished_at is not None
    assert (first.listed, first.matched, first.differed, first.unmatched) == (ROWS, 990, 10, 0)


def test_plan_prints_what_the_first_sync_will_write_and_writes_nothing(
    state: Tracker, tracker_url: str, tmp_path: Path
) -> None:
    """`syncwell plan --json` lists 1 create, 10 updates and 990 unchanged for the new flow,
    and leaves the tracker, the checkpoint and the identity map as they were."""
    path = _tracked(tmp_path, tracker_url, state, only_in_core=1)
    result = runner.invoke(app, ["plan", "-w", str(path), "--json"])
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.output)
    assert found["state"] == "new"
    counts = {k: found[k] for k in ("creates", "updates", "deletes", "unchanged", "writes")}
    assert counts == {"creates": 1, "updates": DIFFER, "deletes": 0, "unchanged": 990, "writes": 11}
    assert found["only_in_destination"] == 0 and found["listed"] == ROWS
    assert (state.posts, state.puts, state.deletes) == (0, 0, 0)
    table = runner.invoke(app, ["plan", "-w", str(path)])
    assert table.exit_code == 0 and "issues_out" in table.output and "990" in table.output

    async def untouched() -> None:
        store = await open_store(load_workspace(path).state)
        try:
            assert await store.journal.checkpoint("issues_out") is None
            assert await store.journal.backlog() == {}
            scope = IdentityScope("tracker", "issues", "app")
            assert await store.identities.count(scope) == (0, 0)
        finally:
            await store.close()

    import asyncio

    asyncio.run(untouched())


PG_WORKSPACE = """
systems:
  core: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  replica: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
flows:
  contacts:
    source: core
    destination: replica
    stream: contacts
    target: contacts_copy
    key: id
    cursor: updated_at
    deletes: {{detect: none}}
"""


async def _postgres_pair(pg: asyncpg.Connection, schema: str, root: Path) -> Path:
    """Two tables with the same 1,000 contacts, 10 of them changed in the destination."""
    for table in ("contacts", "contacts_copy"):
        await create_contacts(pg, schema, table)
    await fill_contacts(pg, schema, "contacts", ROWS)
    await pg.execute(f"INSERT INTO {schema}.contacts_copy SELECT * FROM {schema}.contacts")
    await pg.execute(
        f"UPDATE {schema}.contacts_copy SET name = 'changed', tags = ARRAY['y'] WHERE id <= $1",
        DIFFER,
    )
    path = root / "syncwell.yaml"
    path.write_text(PG_WORKSPACE.format(dsn=PG_DSN, schema=schema))
    return path


async def test_a_first_sync_between_postgres_tables_writes_only_what_differs(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """PostgreSQL to PostgreSQL over 1,000 equal contacts (arrays, jsonb, timestamptz) and 10
    changed ones: the plan says 10 updates and 990 unchanged and writes nothing; the run then
    writes the 10 and no more, and both tables end equal."""
    path = await _postgres_pair(pg, pg_schema, tmp_path)
    before = await checksum(pg, pg_schema, "contacts_copy")
    (planned,) = await plan_workspace(load_workspace(path))
    assert (planned.creates, planned.updates, planned.unchanged) == (0, DIFFER, ROWS - DIFFER)
    assert await checksum(pg, pg_schema, "contacts_copy") == before
    progress = (await _run(path)).progress["contacts"]
    assert progress.written == DIFFER and progress.matched == ROWS - DIFFER
    assert await checksum(pg, pg_schema, "contacts_copy") == await checksum(
        pg, pg_schema, "contacts"
    )
    await pg.execute(f"UPDATE {pg_schema}.contacts SET score = -1, updated_at = now() WHERE id = 7")
    progress = (await _run(path)).progress["contacts"]
    assert progress.written == 1 and progress.matched == 0  # the first sync is over


async def test_resync_compares_again_and_repairs_only_the_drift(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """After a first sync, 3 destination rows drift (edited there by hand). `resync` makes the
    next run a first sync again: it writes those 3, and matches the other 997."""
    path = await _postgres_pair(pg, pg_schema, tmp_path)
    await _run(path)
    await pg.execute(f"UPDATE {pg_schema}.contacts_copy SET stage = 'lost' WHERE id <= 3")
    await admin.resync(load_workspace(path), ["contacts"])
    progress = (await _run(path)).progress["contacts"]
    assert progress.written == 3 and progress.matched == ROWS - 3


SQLITE_WORKSPACE = """
systems:
  core: {kind: sqlite, path: core.db}
  copy: {kind: sqlite, path: copy.db}
flows:
  notes:
    source: core
    destination: copy
    stream: notes
    key: id
    deletes: {detect: none}
"""


async def test_a_first_sync_cut_short_resumes_without_listing_the_destination_again(
    tmp_path: Path,
) -> None:
    """A first sync compares one page and stops (a crash); the next read resumes from its
    checkpoint with the listing it kept, and the first sync ends with that whole read."""
    for name in ("core", "copy"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            db.executemany("INSERT INTO notes VALUES (?, ?)", [(i, f"n{i}") for i in range(1, 7)])
    path = tmp_path / "syncwell.yaml"
    path.write_text(SQLITE_WORKSPACE)
    workspace = load_workspace(path)
    (flow,) = workspace.flows.values()
    plan = compare_plan(flow, workspace)
    assert isinstance(plan, ComparePlan)
    opened: list[str] = []

    async def opener() -> Source:
        opened.append("copy")
        return await open_source("copy", workspace.systems["copy"].settings)

    store = await open_store(workspace.state)
    try:
        first = FirstSync(flow, plan, store.first_syncs, store.identities, opener, SystemClock())
        comparing = await first.begin(None)
        assert comparing is not None
        kept = await comparing.screen(ChangeBatch(("id", "body"), [(1, "n1"), (2, "new")]))
        assert kept.rows == [(2, "new")] and comparing.matched == 1
        again = await first.begin({"phase": "full", "after": [2], "since": None})
        assert again is not None and again.ends  # a flow without a cursor: one whole read
        kept = await again.screen(ChangeBatch(("id", "body"), [(3, "n3"), (9, "n9")]))
        assert kept.rows == [(9, "n9")] and opened == ["copy", "copy"]  # is anything there; list
        finished = await again.finish()
        assert finished is not None and (finished.matched, finished.differed) == (2, 1)
        assert finished.unmatched == 3  # ids 4 to 6: only in the destination, left alone
        assert await first.begin({"phase": "full", "after": None, "since": None}) is None
    finally:
        await store.close()


async def test_an_empty_destination_is_not_listed_and_every_record_is_created(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Nothing to compare with: one page of one key tells, the first sync ends at once and
    the read keeps its fast path; all 1,000 records are written, none matched."""
    path = await _postgres_pair(pg, pg_schema, tmp_path)
    await pg.execute(f"TRUNCATE {pg_schema}.contacts_copy")
    progress = (await _run(path)).progress["contacts"]
    assert progress.written >= ROWS and progress.matched == 0
    store = await open_store(load_workspace(path).state)
    try:
        first = await store.first_syncs.state("contacts")
    finally:
        await store.close()
    assert first is not None and first.finished_at is not None and first.listed == 0
    assert await checksum(pg, pg_schema, "contacts_copy") == await checksum(
        pg, pg_schema, "contacts"
    )


def test_plan_and_resync_refuse_a_flow_the_workspace_lacks(tmp_path: Path) -> None:
    """A misspelt flow is exit 2 with its name, before anything is read or cleared; resync of
    a real one says what the next run does."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(SQLITE_WORKSPACE)
    for command in (["plan", "--flow", "nots"], ["resync", "nots"]):
        result = runner.invoke(app, [*command, "-w", str(path)])
        assert result.exit_code == 2 and "no flow 'nots'" in result.output
        assert "did you mean 'notes'" in result.output
    result = runner.invoke(app, ["resync", "notes", "-w", str(path)])
    assert result.exit_code == 0 and "compares notes with the destination" in result.output
