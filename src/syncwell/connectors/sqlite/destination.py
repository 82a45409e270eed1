"""Writing to a SQLite table: stage the batch, then run the shared guarded merge."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence

from syncwell.connectors._merge import MergeSql, build_merge
from syncwell.connectors._sql import column_list, quote
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.sqlite.database import SqliteDatabase, to_sqlite
from syncwell.connectors.sqlite.schema import describe
from syncwell.connectors.sqlite.verify import read_written
from syncwell.connectors.verify import ReadRecords
from syncwell.types import ChangeBatch, Op, StreamSpec

__all__ = ["SqliteDestination"]


def _distinct(columns: Sequence[str], left: str, right: str) -> str:
    return " OR ".join(f"{left}.{quote(c)} IS NOT {right}.{quote(c)}" for c in columns)


class SqliteDestination:
    """The `Destination` of a ``kind: sqlite`` system."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._plans: dict[tuple[str, tuple[str, ...]], MergeSql] = {}

    async def aclose(self) -> None:
        await self._db.close()

    async def write(self, stream: StreamSpec, batch: ChangeBatch) -> None:
        batch = batch.decoded()  # a COPY-text batch (a replayed postgres dead letter) as text
        ops = batch.ops or [Op.UPSERT] * len(batch.rows)
        records = [
            (*map(to_sqlite, row), op is Op.DELETE) for row, op in zip(batch.rows, ops, strict=True)
        ]
        has_deletes = Op.DELETE in ops

        def apply(connection: sqlite3.Connection) -> None:
            stage, plan = self._plan(connection, stream, batch.columns)
            marks = ", ".join("?" * (len(batch.columns) + 1))
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(f"DELETE FROM {stage}")
                connection.executemany(f"INSERT INTO {stage} VALUES ({marks})", records)
                if has_deletes:
                    connection.execute(plan.remember_deleted)
                    connection.execute(plan.delete)
                connection.execute(plan.merge)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

        await self._db.run(apply)

    async def read_written(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> ReadRecords:
        """`Verifiable.read_written`: one SELECT by the batch's keys (verify.py)."""
        name = self._db.name
        return await self._db.run(lambda connection: read_written(connection, name, stream, batch))

    def _plan(
        self, connection: sqlite3.Connection, stream: StreamSpec, columns: tuple[str, ...]
    ) -> tuple[str, MergeSql]:
        shape = (stream.name, columns)
        digest = hashlib.sha1(repr(shape).encode()).hexdigest()[:12]  # noqa: S324
        stage = f"temp._sw_stage_{digest}"
        connection.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS _sw_stage_{digest} "
            f"({column_list(columns)}, _sw_delete INTEGER)"
        )
        if shape not in self._plans:
            table = describe(connection, stream.name, self._db.name)
            table.check_columns(columns, "destination", self._db.name)
            table.check_unique(stream.key, self._db.name)
            tombstones = quote(f"_syncwell_deleted_{stream.name}")
            kept = [*stream.key, *([stream.version] if stream.version else [])]
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {tombstones} ({column_list(kept)}, "
                f"PRIMARY KEY ({column_list(stream.key)}))"
            )
            self._plans[shape] = build_merge(
                target=quote(stream.name),
                stage=stage,
                tombstones=tombstones,
                columns=columns,
                key=stream.key,
                version=stream.version,
                distinct=_distinct,
            )
        return stage, self._plans[shape]
