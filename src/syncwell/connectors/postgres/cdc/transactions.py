"""Decoded pgoutput messages made into whole transactions of one table's changes.

A transaction's changes are held until its Commit arrives, then handed over together with
the position just after it, which is what the journal's checkpoint and the slot's confirmed
position become. Values stay in their text form here; the capture types them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncwell.connectors.postgres import pgoutput
from syncwell.connectors.postgres.cdc.replication import Received
from syncwell.errors import IntegrationFatalError, MisconfiguredError
from syncwell.types import Op

__all__ = ["Assembler", "Transaction"]

TextRow = tuple[str | None, ...]


@dataclass(slots=True)
class Transaction:
    """One committed transaction's changes to the table, in the order they were made.

    Attributes:
        end_lsn: the position just after its commit (what to confirm once journaled).
        committed_at: when it committed (Unix seconds), where its freshness lag starts.
        ops: one per row.
        rows: the values of the capture's columns, as text (None for NULL); a delete
            holds what its replica identity gives (the key, or the whole old row).
    """

    end_lsn: int
    committed_at: float = 0.0
    ops: list[Op] = field(default_factory=list)
    rows: list[TextRow] = field(default_factory=list)


class Assembler:
    """Turns the messages of a stream into whole transactions of one table.

    Args:
        schema: the table's schema, as the catalog spells it.
        table: the table's name, likewise.
        columns: the columns the flow moves, in order.
        key: the flow's key columns.
        system: the source system's name, for errors.
    """

    def __init__(
        self, schema: str, table: str, columns: tuple[str, ...], key: tuple[str, ...], system: str
    ) -> None:
        self._where = (schema, table)
        self._columns = columns
        self._key = key
        self._system = system
        self._relation: int | None = None
        self._picks: list[int] = []
        self._key_picks: list[int] = []
        self._open: Transaction | None = None

    def feed(self, received: list[Received]) -> list[Transaction]:
        """The transactions these messages complete (a transaction begun but not committed
        in them is kept for the next call)."""
        done: list[Transaction] = []
        for item in received:
            message = item.message
            if isinstance(message, pgoutput.Begin):
                self._open = Transaction(end_lsn=message.final_lsn)
                self._open.committed_at = message.committed_at.timestamp()
            elif isinstance(message, pgoutput.Commit):
                if self._open is not None:
                    self._open.end_lsn = message.end_lsn
                    done.append(self._open)
                self._open = None
            elif isinstance(message, pgoutput.Relation):
                self._describe(message)
            elif self._open is not None:
                self._change(message, self._open)
        return done

    @property
    def pending(self) -> bool:
        """Whether a transaction has begun and not yet committed in what was fed."""
        return self._open is not None

    def reset(self) -> None:
        """Forget a half-received transaction (the stream starts again before it)."""
        self._open = None

    def _describe(self, relation: pgoutput.Relation) -> None:
        if (relation.namespace, relation.name) != self._where:
            return
        names = [column.name for column in relation.columns]
        missing = [column for column in (*self._columns, *self._key) if column not in names]
        if missing:
            raise MisconfiguredError(
                f"table {'.'.join(self._where)} lost column(s) {', '.join(missing)} while the "
                "flow streamed it; put them back or change the flow's fields",
                system=self._system,
            )
        self._relation = relation.oid
        self._picks = [names.index(column) for column in self._columns]
        self._key_picks = [self._columns.index(column) for column in self._key]

    def _change(self, message: pgoutput.Message, into: Transaction) -> None:
        if isinstance(message, pgoutput.Insert) and message.relation == self._relation:
            into.ops.append(Op.UPSERT)
            into.rows.append(self._row(message.new, None))
        elif isinstance(message, pgoutput.Update) and message.relation == self._relation:
            full = message.old is not None and not message.old_is_key
            new = self._row(message.new, message.old if full else None)
            if message.old is not None:  # sent when the key changed, or always with FULL
                old = self._row(message.old, None)
                if self._key_of(old) != self._key_of(new):  # the record moved to a new key
                    into.ops.append(Op.DELETE)
                    into.rows.append(old)
            into.ops.append(Op.UPSERT)
            into.rows.append(new)
        elif isinstance(message, pgoutput.Delete) and message.relation == self._relation:
            into.ops.append(Op.DELETE)
            into.rows.append(self._row(message.old, None))
        elif isinstance(message, pgoutput.Truncate) and self._relation in message.relations:
            raise IntegrationFatalError(
                f"table {'.'.join(self._where)} was truncated; syncwell delivers rows, and a "
                "TRUNCATE names none. Empty the destination table the same way, then start "
                "the flow again from a new snapshot (docs/cdc.md, Truncate)",
                system=self._system,
            )

    def _key_of(self, row: TextRow) -> TextRow:
        return tuple(row[i] for i in self._key_picks)

    def _row(
        self, values: tuple[pgoutput.Value, ...], old: tuple[pgoutput.Value, ...] | None
    ) -> TextRow:
        row: list[str | None] = []
        for index, at in enumerate(self._picks):
            value = values[at]
            if isinstance(value, pgoutput.Unchanged):
                value = pgoutput.UNCHANGED if old is None else old[at]
            if isinstance(value, pgoutput.Unchanged):
                raise MisconfiguredError(
                    f"an update of table {'.'.join(self._where)} left column "
                    f"{self._columns[index]} unchanged out of line (TOAST) and did not carry "
                    "its value; run ALTER TABLE ... REPLICA IDENTITY FULL (docs/cdc.md)",
                    system=self._system,
                )
            row.append(value)
        return tuple(row)
