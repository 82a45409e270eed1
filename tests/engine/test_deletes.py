"""Deletes without tombstones and sources without a cursor, end to end through the engine.

A SQLite or PostgreSQL table is read into a SQLite core. Records are hard-deleted in the
source (no tombstone), edited without a cursor, or left with a NULL cursor; each test proves
what arrives, what is journaled, and that a pass that would delete too much deletes nothing
and opens an incident.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.conftest import PG_DSN


def _sqlite_pair(tmp_path: Path, rows: int) -> None:
    with (
        sqlite3.connect(tmp_path / "tool.db") as tool,
        sqlite3.connect(tmp_path / "core.db") as core,
    ):
        tool.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT, at TEXT)")
        tool.executemany(
            "INSERT INTO members VALUES (?, ?, ?)",
            [(i, f"m{i}@x.test", f"2026-01-01T00:00:{i % 60:02d}") for i in range(1, rows + 1)],
        )
        core.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT, at TEXT)")


def _workspace(tmp_path: Path, flow_extra: str, *, source: str = "") -> Path:
    source = source or f"tool: {{kind: sqlite, path: {tmp_path / 'tool.db'}}}"
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        f"""core: core
state: sqlite:///{tmp_path / "state.db"}
systems:
  {source}
  core: {{kind: sqlite, path: {tmp_path / "core.db"}}}
flows:
  members:
    source: tool
    destination: core
    stream: members
    key: id
{flow_extra}"""
    )
    return path


def _tool(tmp_path: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(tmp_path / "tool.db") as tool:
        tool.execute(sql, args)


def _core(tmp_path: Path) -> dict[int, tuple[str, str | None]]:
    with sqlite3.connect(tmp_path / "core.db") as core:
        return {i: (e, a) for i, e, a in core.execute("SELECT id, email, at FROM members")}


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path), analyse_every_s=None)
    await engine.run(once=True)
    return engine


async def test_a_source_without_a_cursor_journals_only_what_changed_and_what_is_gone(
    tmp_path: Path,
) -> None:
    """No cursor: the first read takes all in, an idle read journals nothing, then an edit,
    an insert and a hard delete each arrive as exactly one change."""
    _sqlite_pair(tmp_path, 50)
    path = _workspace(tmp_path, "")
    assert (await _run(path)).progress["members"].read == 50
    assert len(_core(tmp_path)) == 50
    assert (await _run(path)).progress["members"].read == 0, "an idle read journals nothing"
    _tool(tmp_path, "UPDATE members SET email = 'new@x.test' WHERE id = 7")
    _tool(tmp_path, "INSERT INTO members VALUES (51, 'm51@x.test', NULL)")
    _tool(tmp_path, "DELETE FROM members WHERE id = 9")
    engine = await _run(path)
    assert engine.progress["members"].read == 3
    assert engine.progress["members"].deletes_found == 1
    core = _core(tmp_path)
    assert core[7][0] == "new@x.test" and 51 in core and 9 not in core and len(core) == 50


async def test_a_key_scan_finds_hard_deletes_a_cursor_never_shows(tmp_path: Path) -> None:
    """With a cursor and `deletes: {detect: scan, every: 0s}`, a hard delete arrives; without
    `deletes:` it would stay in the core for good (the check warns of that)."""
    _sqlite_pair(tmp_path, 30)
    path = _workspace(tmp_path, "    cursor: at\n    deletes: {detect: scan, every: 0s}\n")
    await _run(path)
    _tool(tmp_path, "DELETE FROM members WHERE id IN (3, 4)")
    engine = await _run(path)
    progress = engine.progress["members"]
    assert progress.deletes_found == 2 and progress.keys_scanned == 28
    assert set(_core(tmp_path)) == set(range(1, 31)) - {3, 4}
    again = await _run(path)
    assert again.progress["members"].deletes_found == 0, "a key is deleted once"


async def test_a_scan_waits_for_its_interval(tmp_path: Path) -> None:
    """`every: 1h`: a run right after the first one lists no keys and deletes nothing."""
    _sqlite_pair(tmp_path, 10)
    path = _workspace(tmp_path, "    cursor: at\n    deletes: {detect: scan, every: 1h}\n")
    await _run(path)
    _tool(tmp_path, "DELETE FROM members WHERE id = 2")
    engine = await _run(path)
    assert engine.progress["members"].keys_scanned == 0
    assert 2 in _core(tmp_path)


@pytest.mark.parametrize("cursor", [True, False], ids=["scan", "no-cursor"])
async def test_a_pass_that_would_delete_too_much_deletes_nothing_and_opens_an_incident(
    tmp_path: Path, cursor: bool
) -> None:
    """Half the keys gone at once (an emptied listing looks the same) is held back: nothing
    is deleted, the flow's incident says why, and a later pass within bounds closes it."""
    _sqlite_pair(tmp_path, 100)
    extra = "    cursor: at\n" if cursor else ""
    path = _workspace(tmp_path, extra + "    deletes: {detect: scan, every: 0s}\n")
    await _run(path)
    _tool(tmp_path, "DELETE FROM members WHERE id > 50")
    engine = await _run(path)
    held = engine.progress["members"].deletes_held
    assert held is not None and "50 of the 100 keys" in held and "max_share" in held
    assert len(_core(tmp_path)) == 100, "nothing was deleted"
    store = await open_store(load_workspace(path).state)
    try:
        opened = await store.incidents.list(open_only=True)
        assert [(i.flow, i.cause) for i in opened] == [("members", "deletes_held")]
        assert "nothing was deleted" in opened[0].detail
    finally:
        await store.close()
    # The user says the deletes are real: one pass with a higher share applies them.
    path = _workspace(tmp_path, extra + "    deletes: {detect: scan, every: 0s, max_share: 0.6}\n")
    engine = await _run(path)
    assert engine.progress["members"].deletes_held is None
    assert engine.progress["members"].deletes_found == 50
    assert len(_core(tmp_path)) == 50
    store = await open_store(load_workspace(path).state)
    try:
        assert await store.incidents.list(open_only=True) == []
    finally:
        await store.close()


async def test_a_small_table_may_lose_a_few_keys_without_the_guard(tmp_path: Path) -> None:
    """`guard_above` (10): 3 of 5 keys gone is 60% but only 3 records, so they are deleted."""
    _sqlite_pair(tmp_path, 5)
    path = _workspace(tmp_path, "")
    await _run(path)
    _tool(tmp_path, "DELETE FROM members WHERE id <= 3")
    engine = await _run(path)
    assert engine.progress["members"].deletes_found == 3
    assert set(_core(tmp_path)) == {4, 5}


async def test_deletes_none_reads_without_a_cursor_but_never_deletes(tmp_path: Path) -> None:
    """`deletes: {detect: none}` on a flow without a cursor: changes arrive, deletes do not."""
    _sqlite_pair(tmp_path, 5)
    path = _workspace(tmp_path, "    deletes: {detect: none}\n")
    await _run(path)
    _tool(tmp_path, "DELETE FROM members WHERE id = 1")
    _tool(tmp_path, "UPDATE members SET email = 'e' WHERE id = 2")
    engine = await _run(path)
    assert engine.progress["members"].read == 1
    assert 1 in _core(tmp_path) and _core(tmp_path)[2][0] == "e"


async def test_postgres_source_key_scan_and_cursorless_read(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """The same on PostgreSQL: a key scan over a table read by cursor finds hard deletes,
    and a second flow without a cursor journals only its one edit."""
    await pg.execute(
        f"CREATE TABLE {pg_schema}.members (id int PRIMARY KEY, email text, at timestamptz)"
    )
    await pg.execute(
        f"INSERT INTO {pg_schema}.members SELECT i, 'm' || i, now() FROM generate_series(1, 40) i"
    )
    with sqlite3.connect(tmp_path / "core.db") as core:
        core.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT, at TEXT)")
    source = f"tool: {{kind: postgres, dsn: '{PG_DSN}', schema: {pg_schema}}}"
    scan = "    cursor: at\n    deletes: {detect: scan, every: 0s}\n    batch_size: 7\n"
    path = _workspace(tmp_path, scan, source=source)
    await _run(path)
    await pg.execute(f"DELETE FROM {pg_schema}.members WHERE id IN (5, 6, 7)")
    engine = await _run(path)
    assert engine.progress["members"].deletes_found == 3
    assert engine.progress["members"].keys_scanned == 37
    assert set(_core(tmp_path)) == set(range(1, 41)) - {5, 6, 7}

    (tmp_path / "state.db").unlink()
    path = _workspace(tmp_path, "    batch_size: 7\n", source=source)
    await _run(path)
    await pg.execute(f"UPDATE {pg_schema}.members SET email = 'changed' WHERE id = 9")
    engine = await _run(path)
    assert engine.progress["members"].read == 1
    assert _core(tmp_path)[9][0] == "changed"


async def test_postgres_to_postgres_with_a_key_scan_keeps_typed_keys(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Between two PostgreSQL tables (pages travel as COPY text otherwise), a flow that
    tracks keys reads rows: the records arrive typed, a timestamptz key listed by the scan
    matches the one the read took in, and only the row deleted is deleted."""
    for table in ("src", "dst"):
        await pg.execute(
            f"CREATE TABLE {pg_schema}.{table} (at timestamptz PRIMARY KEY, n int, v timestamptz)"
        )
    await pg.execute(
        f"INSERT INTO {pg_schema}.src SELECT '2026-01-01'::timestamptz + i * interval '1.5 s', "
        f"i, now() FROM generate_series(1, 12) i"
    )
    path = tmp_path / "syncwell.yaml"
    system = f"{{kind: postgres, dsn: '{PG_DSN}', schema: {pg_schema}}}"
    path.write_text(
        f"core: dst\nstate: sqlite:///{tmp_path / 'state.db'}\n"
        f"systems:\n  src: {system}\n  dst: {system}\n"
        "flows:\n  f: {source: src, destination: dst, stream: src, target: dst, key: at, "
        "cursor: v, deletes: {detect: scan, every: 0s}}\n"
    )
    await _run(path)
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.dst") == 12
    await pg.execute(f"DELETE FROM {pg_schema}.src WHERE n = 4")
    engine = await _run(path)
    assert engine.progress["f"].deletes_found == 1
    assert await pg.fetchval(f"SELECT count(*) FROM {pg_schema}.dst") == 11
    assert engine.progress["f"].dead_lettered == 0


async def test_a_changed_key_starts_the_ledger_anew_instead_of_deleting_the_old_keys(
    tmp_path: Path,
) -> None:
    """The flow's key moves from id to email: the keys kept under the old key would all look
    gone (before: 20 of 40 held back for good, and with a few rows, deleted); the ledger of
    the old shape is dropped and the next pass deletes nothing."""
    for name in ("tool.db", "core.db"):
        with sqlite3.connect(tmp_path / name) as db:
            db.execute("CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")
    with sqlite3.connect(tmp_path / "tool.db") as tool:
        tool.executemany("INSERT INTO members VALUES (?, ?)", [(i, f"m{i}") for i in range(20)])
    path = _workspace(tmp_path, "")
    await _run(path)
    path.write_text(path.read_text().replace("    key: id\n", "    key: email\n"))
    changed = await _run(path)
    assert changed.progress["members"].last_error == "", "the key change reads"
    engine = await _run(path)
    assert engine.progress["members"].deletes_held is None
    assert engine.progress["members"].deletes_found == 0
    with sqlite3.connect(tmp_path / "core.db") as core:
        assert core.execute("SELECT count(*) FROM members").fetchone() == (20,)
