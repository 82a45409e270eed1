"""The guarded merge both database destinations run after staging a batch.

Rows wait in a staging table ``s`` with an extra boolean column ``_sw_delete``. Three
statements then apply them: remember deleted keys (tombstones), upsert what is newer than both
the target's record and any tombstone, and delete what is not older than the target's record.
PostgreSQL and SQLite share this SQL but for how they spell "these rows differ".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncwell.connectors._sql import column_list, quote, row_of

__all__ = ["MergeSql", "build_merge"]


@dataclass(frozen=True, slots=True)
class MergeSql:
    """The statements, in the order to run them."""

    remember_deleted: str
    merge: str
    delete: str
    merge_newest: str
    """The merge for a stage with several changes per key: keeps the newest of each."""


Distinct = Callable[[Sequence[str], str, str], str]
"""Given columns and two row aliases, SQL that is true when the rows' values differ."""


def build_merge(
    *,
    target: str,
    stage: str,
    tombstones: str,
    columns: Sequence[str],
    key: Sequence[str],
    version: str | None,
    distinct: Distinct,
    newest_first: str | None = None,
) -> MergeSql:
    """The merge of `stage` into `target` (all names already quoted and qualified).

    With `newest_first` (an ORDER BY tail such as ``s._sw_seq DESC``), the stage may hold
    several changes per key: the merge keeps the newest of each (PostgreSQL's DISTINCT ON).
    """
    values = [column for column in columns if column not in key]
    same_key = f"{row_of(key, 'd')} = {row_of(key, 's')}"
    changed = distinct(values, "t", "excluded") if values else "FALSE"
    if version is None:
        # Without versions nothing orders a delete against a later upsert: the upsert wins,
        # so tombstones are neither kept nor consulted.
        newer, tombstoned, delete_guard = changed, "1 = 0", "1 = 1"
    else:
        v = quote(version)
        newer = f"t.{v} IS NULL OR t.{v} < excluded.{v} OR (t.{v} = excluded.{v} AND ({changed}))"
        tombstoned = f"{same_key} AND d.{v} >= s.{v}"
        # A delete that carries no version (a webhook naming only the key) applies as it comes.
        delete_guard = f"(t.{v} IS NULL OR s.{v} IS NULL OR t.{v} <= s.{v})"
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in values)
    on_conflict = f"DO UPDATE SET {updates} WHERE {newer}" if values else "DO NOTHING"

    def merge(rows: str) -> str:
        return (
            f"INSERT INTO {target} AS t ({column_list(columns)}) "
            f"SELECT {column_list(columns, 's')} FROM {rows} s "
            f"WHERE NOT coalesce(s._sw_delete, FALSE) AND NOT EXISTS "
            f"(SELECT 1 FROM {tombstones} d WHERE {tombstoned}) "
            f"ON CONFLICT ({column_list(key)}) {on_conflict}"
        )

    plain = merge(stage)
    newest = plain
    if newest_first is not None:
        # The newest change per key is chosen first, then guarded: filtering first could let
        # an older change stand in for a newer one the tombstone refused.
        by_version = f"s.{quote(version)} DESC NULLS LAST, " if version else ""
        newest = merge(
            f"(SELECT DISTINCT ON ({column_list(key, 's')}) s.* FROM {stage} s "
            f"ORDER BY {column_list(key, 's')}, {by_version}{newest_first})"
        )
    delete = (
        f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {stage} s WHERE s._sw_delete "
        f"AND {row_of(key, 's')} = {row_of(key, 't')} AND {delete_guard})"
    )
    kept = [*key, *([version] if version else [])]
    keep_newest = (
        f"DO UPDATE SET {quote(version)} = excluded.{quote(version)} "
        f"WHERE d.{quote(version)} < excluded.{quote(version)}"
        if version
        else "DO NOTHING"
    )
    remember_deleted = (
        f"INSERT INTO {tombstones} AS d ({column_list(kept)}) "
        f"SELECT {column_list(kept, 's')} FROM {stage} s WHERE s._sw_delete "
        f"ON CONFLICT ({column_list(key)}) {keep_newest}"
        if version
        else "SELECT 1"
    )
    return MergeSql(remember_deleted, plain, delete, newest)
