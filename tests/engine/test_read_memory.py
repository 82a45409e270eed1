"""A look-back re-read journals only what changed (engine/readmemory.py; issue 14, point 17)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from syncwell import copytext
from syncwell.engine import Engine
from syncwell.engine.readmemory import ReadMemory
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Op
from syncwell.workspace import load_workspace
from tests.pgdata import checksum, contacts_pair, write_workspace
from tests.waiting import until

COLUMNS = ("id", "name", "at")


def _keys(batch: ChangeBatch) -> list[object]:
    return [row[0] for row in batch.decoded().rows]


def _screened(memory: ReadMemory, batch: ChangeBatch) -> ChangeBatch:
    kept, unremembered = memory.screen(batch)
    memory.remember(unremembered)
    return kept


def test_a_row_read_again_as_it_was_is_dropped_and_any_difference_passes() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    first = ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:01")])
    assert _keys(_screened(memory, first)) == [1, 2]
    again = ChangeBatch(
        COLUMNS,
        [(1, "Ada", "10:00"), (2, "Bob", "10:02"), (3, "Cy", "10:00"), (1, "Ada", "10:00")],
        [Op.UPSERT, Op.UPSERT, Op.UPSERT, Op.DELETE],
    )
    kept = _screened(memory, again)
    # Bob's cursor moved, Cy is new (a late commit into the window), Ada's delete is an op.
    assert _keys(kept) == [2, 3, 1]
    assert kept.op(2) is Op.DELETE
    assert memory.dropped == 1


def test_a_value_that_changed_under_the_same_cursor_passes() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    _screened(memory, ChangeBatch(COLUMNS, [(1, "Ada", "10:00")]))
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(1, "Ada L", "10:00")]))) == [1]
    # ... and going back to the first values is a change again, not a re-read.
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(1, "Ada", "10:00")]))) == [1]


def test_a_page_whose_journal_write_failed_is_journaled_when_read_again() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    page = ChangeBatch(COLUMNS, [(1, "Ada", "10:00")])
    kept, _ = memory.screen(page)  # the journal write fails: nothing is remembered
    assert _keys(kept) == [1]
    assert _keys(_screened(memory, page)) == [1]
    assert _keys(_screened(memory, page)) == []


def test_copy_text_pages_are_screened_by_line() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    lines = [b"1\tAda\t10:00", b"2\tBob\\tby\t10:01"]
    page = ChangeBatch(COLUMNS, (), copy_text=copytext.join_lines(lines))
    assert len(_screened(memory, page)) == 2
    edited = copytext.join_lines([lines[0], b"2\tBob\\tby\t10:05"])
    kept = _screened(memory, ChangeBatch(COLUMNS, (), copy_text=edited))
    assert kept.copy_text == copytext.join_lines([b"2\tBob\\tby\t10:05"])


def test_a_row_not_read_again_for_a_while_is_forgotten_and_one_read_again_is_kept() -> None:
    clock = FakeClock()
    memory = ReadMemory(("id",), clock, keep_s=60)
    _screened(memory, ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:00")]))
    clock.advance(40)
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(1, "Ada", "10:00")]))) == []
    clock.advance(40)  # Bob was last read 80 s ago, Ada 40 s ago
    both = ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:00")])
    assert _keys(_screened(memory, both)) == [2]


def test_the_memory_holds_at_most_its_size() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60, most=2)
    _screened(memory, ChangeBatch(COLUMNS, [(1, "a", "1"), (2, "b", "1"), (3, "c", "1")]))
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(1, "a", "1"), (3, "c", "1")]))) == [1]


async def test_steady_edits_journal_each_change_once_not_the_window_on_every_poll(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Edits that move rows out of the look-back window make every poll re-read it; only the
    edits are journaled and written, and the tables end equal."""
    rows, rounds, per_round = 200, 8, 10
    await contacts_pair(pg, pg_schema, rows)
    await pg.execute(f"UPDATE {pg_schema}.src SET updated_at = now() - interval '1 minute'")
    path = write_workspace(tmp_path, pg_schema)
    path.write_text(path.read_text().replace("interval: 1s", "interval: 0.1s"))
    engine = Engine(load_workspace(path))
    progress = engine.progress["contacts"]
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    try:
        await until(lambda: progress.written >= rows and progress.reads >= 2, within_s=30)
        first = progress.read
        for edit in range(rounds):
            ids = list(range(1 + edit * per_round, 1 + (edit + 1) * per_round))
            await pg.execute(
                f"UPDATE {pg_schema}.src SET name = name || '!', updated_at = clock_timestamp() "
                "WHERE id = ANY($1::bigint[])",
                ids,
            )
            after = progress.reads + 2  # the window read again
            await until(lambda after=after: progress.reads >= after, within_s=15)
        await until(lambda: progress.written >= first + rounds * per_round, within_s=15)
        reads = progress.reads
        await until(lambda: progress.reads >= reads + 3, within_s=15)
    finally:
        stop.set()
        await running
    # The first read's look-back re-read may journal the window once (nothing remembered yet).
    assert progress.read - first == rounds * per_round
    assert progress.written == progress.read
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


def test_the_full_reads_rows_are_known_to_the_window_read_after_it_once() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    memory.remember_whole(ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:01")]))
    window = ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:05"), (3, "Cy", "9:59")])
    assert _keys(_screened(memory, window)) == [2, 3]  # Bob changed, Cy committed late
    memory.window_read()
    assert _keys(_screened(memory, window)) == []  # what the window read is known by key
    lines = copytext.join_lines([b"1\tAda\t10:00"])
    memory.remember_whole(ChangeBatch(COLUMNS, (), copy_text=lines))
    assert len(_screened(memory, ChangeBatch(COLUMNS, (), copy_text=lines))) == 0


async def test_a_first_run_reads_a_table_changed_within_the_window_once_not_twice(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """Every row was written in the last minute, so the look-back read after the full read
    takes them all again: they are not changes, and `read` and `written` count each once."""
    await contacts_pair(pg, pg_schema, 3000)
    await pg.execute(f"UPDATE {pg_schema}.src SET updated_at = now() - interval '1 minute'")
    engine = Engine(load_workspace(write_workspace(tmp_path, pg_schema)))
    await engine.run(once=True)
    progress = engine.progress["contacts"]
    assert (progress.read, progress.written) == (3000, 3000)
    assert await checksum(pg, pg_schema, "dst") == await checksum(pg, pg_schema, "src")


def test_a_key_changed_twice_in_one_page_keeps_its_newest_change() -> None:
    """A delete then the same row inserted again (a restore), or A -> B -> A under one cursor,
    in one page: each change is compared with the one before it in the page, so the last
    one is not mistaken for the row as it was journaled."""
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    _screened(memory, ChangeBatch(COLUMNS, [(1, "Ada", "10:00"), (2, "Bob", "10:00")]))
    restore = ChangeBatch(
        COLUMNS, [(1, "Ada", "10:00"), (1, "Ada", "10:00")], [Op.DELETE, Op.UPSERT]
    )
    kept = _screened(memory, restore)
    assert [kept.op(i) for i in range(len(kept))] == [Op.DELETE, Op.UPSERT]
    there_and_back = ChangeBatch(COLUMNS, [(2, "Bo", "10:00"), (2, "Bob", "10:00")])
    assert [row[1] for row in _screened(memory, there_and_back).rows] == ["Bo", "Bob"]


def test_values_python_hashes_alike_are_still_different_changes() -> None:
    memory = ReadMemory(("id",), FakeClock(), keep_s=60)
    assert hash((1, -1, "10:00")) == hash((1, -2, "10:00"))  # why the digest is not hash()
    _screened(memory, ChangeBatch(COLUMNS, [(1, -1, "10:00")]))
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(1, -2, "10:00")]))) == [1]
    memory.remember_whole(ChangeBatch(COLUMNS, [(2, -1, "10:00")]))
    assert _keys(_screened(memory, ChangeBatch(COLUMNS, [(2, -2, "10:00")]))) == [2]
