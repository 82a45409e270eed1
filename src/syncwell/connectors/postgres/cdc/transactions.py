"""Decoded pgoutput messages made into whole transactions of one table's changes.

A transaction's changes are held until its Commit arrives, then handed over together with
the position just after it, which is what the journal's checkpoint and the slot's confirmed
position become. Values stay in their text form here; the capture types them.

The table may change shape while it streams. pgoutput sends the table's Relation message
again before the first change made after an ALTER TABLE, so each change is read with the
columns (and types) the table had when it was made, which the current catalog may no longer
have. What the flow does with a new shape (docs/cdc.md, "Columns added, dropped or
retyped"):

* a flow naming its `fields:` carries those; a column added is not carried, and one of them
  (or the key, or the version) dropped is refused;
* a flow moving every column carries every column the table has now: an added column from
  its first change on, a dropped one no longer; the key and the version dropped are refused.

A refusal, and a TRUNCATE of the table, end what is handed over just before the transaction
that holds it: the transactions committed earlier are handed over, and the next `feed` raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from syncwell.connectors.postgres import pgoutput
from syncwell.connectors.postgres.cdc.replication import Received
from syncwell.errors import IntegrationFatalError, MisconfiguredError
from syncwell.types import Op

__all__ = ["Assembler", "Shape", "TextRow", "Transaction"]

TextRow = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Shape:
    """The columns a change carries, as the table stood when the change was made.

    Attributes:
        columns: their names, in order.
        types: each one's type as PostgreSQL names it: (type oid, type modifier).
    """

    columns: tuple[str, ...]
    types: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class Transaction:
    """One committed transaction's changes to the table, in the order they were made.

    Attributes:
        end_lsn: the position just after its commit (what to confirm once journaled).
        committed_at: when it committed (Unix seconds), where its freshness lag starts.
        ops: one per row.
        rows: the values of the row's shape's columns, as text (None for NULL); a delete
            holds what its replica identity gives (the key, or the whole old row).
        shapes: one per row: the columns its values are of (a transaction that alters the
            table holds rows of two shapes).
        kept_keys: one per row: whether it updates a record the table held under the same
            key (an Update message whose key did not change), so the record's key is known.
    """

    end_lsn: int
    committed_at: float = 0.0
    ops: list[Op] = field(default_factory=list)
    rows: list[TextRow] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    kept_keys: list[bool] = field(default_factory=list)


class Assembler:
    """Turns the messages of a stream into whole transactions of one table.

    Args:
        schema: the table's schema, as the catalog spells it.
        table: the table's name, likewise.
        fields: the columns the flow names (`fields:`), in order; empty: every column.
        key: the flow's key columns.
        system: the source system's name, for errors.
        version: the flow's version column, if any (it must stay).
    """

    def __init__(
        self,
        schema: str,
        table: str,
        fields: tuple[str, ...],
        key: tuple[str, ...],
        system: str,
        version: str | None = None,
    ) -> None:
        self._where = (schema, table)
        self._fields = fields
        self._key = key
        self._version = version
        self._system = system
        self._relation: int | None = None
        self._shape = Shape((), ())
        self._identity = ""
        self._picks: list[int] = []
        self._key_picks: list[int] = []
        self._open: Transaction | None = None
        self._refused: IntegrationFatalError | None = None
        self.reshaped = False
        """Whether the stream described the table anew (at its first change, and after an
        ALTER TABLE of its columns or replica identity): the caller's catalog of it may be
        out of date. The caller resets it."""

    def feed(self, received: list[Received]) -> list[Transaction]:
        """The transactions these messages complete (a transaction begun but not committed
        in them is kept for the next call).

        Raises:
            IntegrationFatalError: what was fed before holds a change the flow refuses (a
                column it needs dropped, a TRUNCATE); the transactions committed before it
                were handed over by that call.
        """
        if self._refused is not None:
            raise self._refused
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
                self._refused = self._describe(message)
            elif self._open is not None:
                self._refused = self._change(message, self._open)
            if self._refused is not None:
                break  # the stream starts again before this transaction, and refuses it
        return done

    @property
    def pending(self) -> bool:
        """Whether a transaction has begun and not yet committed in what was fed."""
        return self._open is not None

    def reset(self) -> None:
        """Forget a half-received transaction (the stream starts again before it)."""
        self._open = None

    def _describe(self, relation: pgoutput.Relation) -> IntegrationFatalError | None:
        if relation.oid != self._relation and (relation.namespace, relation.name) != self._where:
            return None
        names = [column.name for column in relation.columns]
        version = (self._version,) if self._version else ()
        needed = dict.fromkeys((*self._fields, *self._key, *version))
        missing = [column for column in needed if column not in names]
        if missing:
            return self._refusal(missing)
        carried = self._fields or tuple(names)
        types = {
            column.name: (column.type_oid, column.type_modifier) for column in relation.columns
        }
        shape = Shape(carried, tuple(types[column] for column in carried))
        # The first description too: the catalog the caller read may differ already.
        if (shape, relation.replica_identity) != (self._shape, self._identity):
            self.reshaped = True
        self._relation, self._shape = relation.oid, shape
        self._identity = relation.replica_identity
        self._picks = [names.index(column) for column in carried]
        self._key_picks = [carried.index(column) for column in self._key]
        return None

    def _refusal(self, missing: list[str]) -> IntegrationFatalError:
        table, named = ".".join(self._where), ", ".join(missing)
        if any(column in self._key for column in missing):
            fix = (
                "give the flow another key in syncwell.yaml and start it over from a new "
                "snapshot (`syncwell resync` the flow)"
            )
        else:
            fix = (
                "take it out of the flow's `fields:` (or `version:`) in syncwell.yaml and "
                "run again: the changes are then carried without it"
            )
        return MisconfiguredError(
            f"column(s) {named} of table {table} dropped (or renamed) while the flow "
            f"streamed it, and the flow needs them (as {self._role(missing[0])}): the changes "
            "committed before are delivered, the later ones wait. To go on, "
            f"{fix} (docs/cdc.md, Columns added, dropped or retyped)",
            system=self._system,
        )

    def _role(self, column: str) -> str:
        if column in self._key:
            return "its key"
        return "its version" if column == self._version else "one of its fields"

    def _change(self, message: pgoutput.Message, into: Transaction) -> IntegrationFatalError | None:
        try:
            return self._apply(message, into)
        except MisconfiguredError as error:  # a value the message does not carry
            return error

    def _apply(self, message: pgoutput.Message, into: Transaction) -> IntegrationFatalError | None:
        if isinstance(message, pgoutput.Insert) and message.relation == self._relation:
            self._add(into, Op.UPSERT, self._row(message.new, None))
        elif isinstance(message, pgoutput.Update) and message.relation == self._relation:
            full = message.old is not None and not message.old_is_key
            new = self._row(message.new, message.old if full else None)
            kept = True
            if message.old is not None:  # sent when the key changed, or always with FULL
                old = self._row(message.old, None)
                if self._key_of(old) != self._key_of(new):  # the record moved to a new key
                    self._add(into, Op.DELETE, old)
                    kept = False
            self._add(into, Op.UPSERT, new, kept=kept)
        elif isinstance(message, pgoutput.Delete) and message.relation == self._relation:
            self._add(into, Op.DELETE, self._row(message.old, None))
        elif isinstance(message, pgoutput.Truncate) and self._relation in message.relations:
            table = ".".join(self._where)
            return IntegrationFatalError(
                f"table {table} was truncated (TRUNCATE) while the flow streamed it. A TRUNCATE "
                "names no rows, and syncwell does not guess which rows of the destination to "
                "delete: the changes committed before it are delivered, the later ones wait. "
                "To go on, empty the destination table as well if it should follow, then "
                "`syncwell resync` the flow: it starts over from a new snapshot of the table "
                "(docs/cdc.md, Truncate)",
                system=self._system,
            )
        return None

    def _add(self, into: Transaction, op: Op, row: TextRow, *, kept: bool = False) -> None:
        into.ops.append(op)
        into.rows.append(row)
        into.shapes.append(self._shape)
        into.kept_keys.append(kept)

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
                    f"{self._shape.columns[index]} unchanged out of line (TOAST) and did not "
                    "carry its value; run ALTER TABLE ... REPLICA IDENTITY FULL (docs/cdc.md)",
                    system=self._system,
                )
            row.append(value)
        return tuple(row)
