"""What a database connector knows of a flow's table, and the checks that name the fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncwell.connectors._sql import column_list
from syncwell.errors import MisconfiguredError

__all__ = ["Table"]


@dataclass(frozen=True, slots=True)
class Table:
    """A table's name as SQL writes it, its columns' declared types in order, and its keys.

    Attributes:
        name: the table as it appears in SQL (schema-qualified and quoted where needed).
        types: declared type per column, in the table's column order.
        unique_keys: the column sets of its unique indexes (the primary key included).
        not_null: the columns that can never hold NULL.
    """

    name: str
    types: dict[str, str]
    unique_keys: tuple[frozenset[str], ...]
    not_null: frozenset[str]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column, in table order."""
        return tuple(self.types)

    def check_columns(self, columns: Sequence[str], role: str, system: str) -> None:
        """Fail with the fix when a configured column is not in the table."""
        missing = [column for column in columns if column not in self.types]
        if not missing:
            return
        fix = "Fix the flow in syncwell.yaml."
        if role == "destination":  # a column added to the source is carried when it has one
            added = ", ".join(f"ADD COLUMN {column} ..." for column in missing)
            fix = (
                f"Add it (ALTER TABLE {self.name} {added}, typed as the source's), or leave "
                "it out of the flow's `fields:` in syncwell.yaml."
            )
        raise MisconfiguredError(
            f"{role} column(s) {', '.join(missing)} not in table {self.name}; "
            f"it has: {', '.join(self.types)}. {fix}",
            system=system,
        )

    def check_key(self, key: Sequence[str], system: str, fix: str) -> None:
        """Fail with `fix` when a key column allows NULL: such a record has no identity."""
        nullable = [column for column in key if column not in self.not_null]
        if nullable:
            raise MisconfiguredError(
                f"key column(s) {', '.join(nullable)} of {self.name} allow NULL, and a record "
                f"without a key cannot be synced idempotently; {fix}, or choose another key",
                system=system,
            )

    def check_unique(self, key: Sequence[str], system: str) -> None:
        """Fail with the statement to run when no unique index matches the key."""
        if frozenset(key) not in self.unique_keys:
            keys = column_list(key)
            raise MisconfiguredError(
                f"table {self.name} has no unique index on ({keys}), which idempotent upserts "
                f"need; create one: CREATE UNIQUE INDEX ON {self.name} ({keys})",
                system=system,
            )
