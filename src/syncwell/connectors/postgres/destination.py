"""Writing to a PostgreSQL table: COPY into a staging table, then one guarded merge.

Each batch is copied (binary COPY, the fastest way in) into a temporary staging table, then
applied with one ``INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE`` the incoming version is
newer, and one ``DELETE`` for the deletes. Deleted keys are remembered with their version in a
small tombstone table beside the target, so an older upsert that arrives after a delete (a
replay, a retry) cannot bring the record back.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from syncwell.connectors._merge import MergeSql, build_merge
from syncwell.connectors._sql import column_list, quote, row_of
from syncwell.connectors.fencing import before_commit
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.postgres.catalog import Table, describe
from syncwell.connectors.postgres.errors import translated
from syncwell.connectors.postgres.settings import Settings
from syncwell.connectors.postgres.verify import read_written
from syncwell.connectors.verify import ReadRecords
from syncwell.types import ChangeBatch, Op, StreamSpec

__all__ = ["PostgresDestination"]


_STAGE_MISSING = "SELECT to_regclass($1) IS NULL"
_RULES_OR_RLS = "SELECT relhasrules OR relrowsecurity FROM pg_class WHERE oid = to_regclass($1)"
_APPEND_PAUSE = 20
"""Batches that skip the straight COPY after one met a key already in the target."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """The SQL of one (target, columns) shape, built once."""

    stage: str
    create_stage: str
    sql: MergeSql
    columns: tuple[str, ...]
    target: str
    has_tombstones: str
    may_append: bool
    """False when COPY would bypass what INSERT obeys (rewrite rules, row-level security)."""


class PostgresDestination:
    """The `Destination` of a ``kind: postgres`` system."""

    def __init__(self, name: str, settings: Settings, pool: asyncpg.Pool) -> None:
        self._name = name
        self._settings = settings
        self._pool = pool
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self._append_pause: dict[str, int] = {}
        self._tables: dict[str, Table] = {}

    async def aclose(self) -> None:
        await self._pool.close()

    async def write(self, stream: StreamSpec, batch: ChangeBatch) -> None:
        plan = await self._plan(stream, batch.columns)
        deletes = batch.ops is not None and Op.DELETE in batch.ops
        with translated(self._name):
            async with self._pool.acquire() as connection, connection.transaction():
                if self._may_append(plan, batch) and await self._append(connection, plan, batch):
                    await before_commit()  # the rows are locked: a newer holder's wait
                    return
                # Made once per connection (temporary objects live as long as it does).
                if await connection.fetchval(_STAGE_MISSING, f"pg_temp.{quote(plan.stage)}"):
                    await connection.execute(plan.create_stage)
                await _copy(connection, plan.stage, None, plan.columns, batch)
                if deletes:
                    await connection.execute(plan.sql.remember_deleted)
                    await connection.execute(plan.sql.delete)
                await connection.execute(
                    plan.sql.merge_newest if batch.keys_repeat else plan.sql.merge
                )
                await before_commit()

    async def read_written(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> ReadRecords:
        """`Verifiable.read_written`: one SELECT by the batch's keys (verify.py)."""
        with translated(self._name):
            async with self._pool.acquire() as connection:
                table = self._tables.get(stream.name)
                # A column added since it was described (a source's ALTER TABLE carried
                # through) would otherwise read back as missing: drift that is not there.
                if table is None or not set(batch.columns) <= set(table.types):
                    schema = self._settings.db_schema
                    table = await describe(connection, schema, stream.name, self._name)
                    self._tables[stream.name] = table
                return await read_written(connection, table, stream, batch)

    def _may_append(self, plan: _Plan, batch: ChangeBatch) -> bool:
        if batch.keys_repeat or batch.ops is not None or not plan.may_append:
            return False
        pause = self._append_pause.get(plan.target, 0)
        self._append_pause[plan.target] = max(0, pause - 1)
        return pause == 0

    async def _append(
        self, connection: asyncpg.Connection, plan: _Plan, batch: ChangeBatch
    ) -> bool:
        """COPY straight into the target, when none of the batch's keys is there yet.

        The merge would insert exactly these rows, so a first sync pays a plain COPY instead
        of a staged one plus a merge. A key already present (or any tombstone) sends the batch
        through the guarded merge, and the next batches skip this try for a while.
        """
        if await connection.fetchval(plan.has_tombstones):
            return False
        try:
            async with connection.transaction():  # a savepoint: a conflict undoes only this
                await _copy(connection, plan.target, self._settings.db_schema, plan.columns, batch)
        except asyncpg.PostgresError:
            # A key already there, or anything else COPY refuses where INSERT would not
            # (row-level security): the merge decides, and raises what it must.
            self._append_pause[plan.target] = _APPEND_PAUSE
            return False
        return True

    async def _plan(self, stream: StreamSpec, columns: tuple[str, ...]) -> _Plan:
        shape = (stream.name, columns)
        if shape not in self._plans:
            with translated(self._name):
                async with self._pool.acquire() as connection:
                    table = await describe(
                        connection, self._settings.db_schema, stream.name, self._name
                    )
                    table.check_columns(columns, "destination", self._name)
                    table.check_unique(stream.key, self._name)
                    tombstones = await self._tombstones(connection, stream, table)
                    plain_table = not await connection.fetchval(_RULES_OR_RLS, table.name)
            self._plans[shape] = _build(stream, table, columns, tombstones, plain_table)
        return self._plans[shape]

    async def _tombstones(
        self, connection: asyncpg.Connection, stream: StreamSpec, table: Table
    ) -> str:
        name = f"_syncwell_deleted_{stream.name}"[:63]
        qualified = f"{quote(self._settings.db_schema)}.{quote(name)}"
        kept = [*stream.key, *([stream.version] if stream.version else [])]
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {qualified} AS "
            f"SELECT {column_list(kept)} FROM {table.name} WITH NO DATA"
        )
        await connection.execute(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {quote(name[:55] + '_key')} "
            f"ON {qualified} ({column_list(stream.key)})"
        )
        return qualified


async def _copy(
    connection: asyncpg.Connection,
    table: str,
    schema: str | None,
    columns: tuple[str, ...],
    batch: ChangeBatch,
) -> None:
    """COPY the batch into `table`: as it came when it is COPY text already."""
    if batch.copy_text is not None:
        await connection.copy_to_table(
            table,
            schema_name=schema,
            source=io.BytesIO(batch.copy_text),  # bytes alone would be read as a path
            columns=list(columns),
            format="text",
        )
    elif batch.ops is None:  # upserts only: _sw_delete stays NULL, no row is copied
        await connection.copy_records_to_table(
            table, schema_name=schema, records=batch.rows, columns=list(columns)
        )
    else:
        records = [(*row, op is Op.DELETE) for row, op in zip(batch.rows, batch.ops, strict=True)]
        await connection.copy_records_to_table(
            table, schema_name=schema, records=records, columns=[*columns, "_sw_delete"]
        )


def _distinct(columns: Sequence[str], left: str, right: str) -> str:
    return f"{row_of(columns, left)} IS DISTINCT FROM {row_of(columns, right)}"


def _build(
    stream: StreamSpec, table: Table, columns: tuple[str, ...], tombstones: str, plain: bool
) -> _Plan:
    digest = hashlib.sha1(repr((stream.name, columns)).encode()).hexdigest()[:12]  # noqa: S324
    stage = f"_sw_stage_{digest}"
    create_stage = (
        f"CREATE TEMP TABLE {quote(stage)} ON COMMIT DELETE ROWS AS "
        f"SELECT {column_list(columns)}, NULL::boolean AS _sw_delete, "
        f"0::bigint AS _sw_seq FROM {table.name} WITH NO DATA; "
        # Arrival order, for keeping the newest of several changes to a key in one batch.
        f"CREATE TEMP SEQUENCE {quote(stage + '_seq')}; "
        f"ALTER TABLE {quote(stage)} ALTER COLUMN _sw_seq "
        f"SET DEFAULT nextval('{quote(stage + '_seq')}')"
    )
    sql = build_merge(
        target=table.name,
        stage=quote(stage),
        tombstones=tombstones,
        columns=columns,
        key=stream.key,
        version=stream.version,
        distinct=_distinct,
        newest_first="s._sw_seq DESC",
    )
    has_tombstones = f"SELECT EXISTS (SELECT 1 FROM {tombstones})"
    return _Plan(stage, create_stage, sql, columns, stream.name, has_tombstones, plain)
