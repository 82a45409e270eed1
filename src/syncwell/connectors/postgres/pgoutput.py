"""A decoder of PostgreSQL's `pgoutput` logical replication messages, protocol version 1.

Written by hand because no maintained decoder exists: the one on PyPI (`pypgoutput`) calls
itself a prototype, and psycopg2, which carries the replication protocol, hands over each
message's bytes undecoded. The format is small and documented ("Logical Replication Message
Formats", https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html).

Version 1 is what syncwell asks for: whole transactions, sent at their commit, in commit order.
Versions 2 to 4 add in-progress (streamed) transactions and two-phase commits, which a
consumer that journals whole transactions does not want; their messages are refused here.
Values arrive in PostgreSQL's text form (the `binary` option is not used).
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "UNCHANGED",
    "Begin",
    "Column",
    "Commit",
    "Delete",
    "Insert",
    "Message",
    "Origin",
    "Relation",
    "Truncate",
    "TypeInfo",
    "Unchanged",
    "Update",
    "Value",
    "decode",
    "format_lsn",
    "parse_lsn",
]

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""PostgreSQL's timestamps count microseconds from here."""


class Unchanged(StrEnum):
    """A TOASTed value the update did not change, so the message does not carry it ('u')."""

    UNCHANGED = "unchanged-toast"


UNCHANGED = Unchanged.UNCHANGED
Value = str | None | Unchanged
"""One column's value: its text form, None for NULL, or `UNCHANGED`."""


def format_lsn(lsn: int) -> str:
    """An LSN as PostgreSQL writes it (``16/B374D848``)."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def parse_lsn(text: str) -> int:
    """An LSN written as PostgreSQL writes it, as a number."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


@dataclass(frozen=True, slots=True)
class Begin:
    """A transaction starts; `final_lsn` is where its commit record is."""

    final_lsn: int
    committed_at: dt.datetime
    xid: int


@dataclass(frozen=True, slots=True)
class Commit:
    """A transaction ends; `end_lsn` is the position just after it (what to confirm)."""

    commit_lsn: int
    end_lsn: int
    committed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Origin:
    """The transaction was replicated here from another origin."""

    origin_lsn: int
    name: str


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a relation as replication describes it."""

    name: str
    type_oid: int
    type_modifier: int
    in_key: bool


@dataclass(frozen=True, slots=True)
class Relation:
    """A table's description, sent before its first change in a session and after it changes.

    `replica_identity` is pg_class.relreplident: ``d`` default (the primary key), ``n``
    nothing, ``f`` full (every column), ``i`` a chosen unique index.
    """

    oid: int
    namespace: str
    name: str
    replica_identity: str
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class TypeInfo:
    """A data type's name, sent for types that are not built in."""

    oid: int
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Insert:
    """A row was inserted: all its values."""

    relation: int
    new: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Update:
    """A row was updated. `old` is the old key (identity DEFAULT or INDEX, when the key
    changed) or the whole old row (identity FULL); None when neither was logged."""

    relation: int
    old: tuple[Value, ...] | None
    old_is_key: bool
    new: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Delete:
    """A row was deleted: its key values (`old_is_key`, other columns None) or whole row."""

    relation: int
    old: tuple[Value, ...]
    old_is_key: bool


@dataclass(frozen=True, slots=True)
class Truncate:
    """Tables were truncated."""

    relations: tuple[int, ...]
    cascade: bool
    restart_identity: bool


Message = Begin | Commit | Origin | Relation | TypeInfo | Insert | Update | Delete | Truncate


class _Reader:
    """Reads the protocol's big-endian integers and NUL-terminated strings in turn."""

    __slots__ = ("at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return int(value)

    def byte(self) -> str:
        value = self.data[self.at : self.at + 1].decode("ascii")
        if not value:
            raise IndexError("the message ends early")
        self.at += 1
        return value

    def text(self, size: int) -> str:
        if size < 0 or self.at + size > len(self.data):
            raise IndexError("a value runs past the end of the message")
        value = self.data[self.at : self.at + size].decode()
        self.at += size
        return value

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        value = self.data[self.at : end].decode()
        self.at = end + 1
        return value

    def time(self) -> dt.datetime:
        return _EPOCH + dt.timedelta(microseconds=self.take(">q"))

    def tuple(self) -> tuple[Value, ...]:
        values: list[Value] = []
        for _ in range(self.take(">h")):
            kind = self.byte()
            if kind == "n":
                values.append(None)
            elif kind == "u":
                values.append(UNCHANGED)
            elif kind == "t":
                values.append(self.text(self.take(">i")))
            else:  # 'b' comes only with the binary option, which is not asked for
                raise ValueError(f"pgoutput: unexpected tuple value kind {kind!r}")
        return tuple(values)


def _relation(reader: _Reader) -> Relation:
    oid, namespace, name = reader.take(">I"), reader.string(), reader.string()
    identity = chr(reader.take(">B"))
    columns = []
    for _ in range(reader.take(">h")):
        flags = reader.take(">B")
        column_name = reader.string()
        columns.append(Column(column_name, reader.take(">I"), reader.take(">i"), bool(flags & 1)))
    return Relation(oid, namespace, name, identity, tuple(columns))


def _update(reader: _Reader) -> Update:
    relation, kind = reader.take(">I"), reader.byte()
    old: tuple[Value, ...] | None = None
    if kind in ("K", "O"):
        old, old_kind = reader.tuple(), kind
        kind = reader.byte()
    else:
        old_kind = "K"
    if kind != "N":
        raise ValueError(f"pgoutput: update without a new tuple (got {kind!r})")
    return Update(relation, old, old_kind == "K", reader.tuple())


def decode(data: bytes) -> Message:
    """One pgoutput message.

    Raises:
        ValueError: the message is of a kind protocol version 1 does not send, or malformed
            (cut short, or text that is not UTF-8).
    """
    try:
        message = _decode(_Reader(data))
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise ValueError(f"pgoutput: malformed message ({error})") from error
    return message


def _decode(reader: _Reader) -> Message:
    kind = reader.byte()
    if kind == "B":
        return Begin(reader.take(">Q"), reader.time(), reader.take(">I"))
    if kind == "C":
        reader.take(">B")  # flags: unused so far
        return Commit(reader.take(">Q"), reader.take(">Q"), reader.time())
    if kind == "O":
        return Origin(reader.take(">Q"), reader.string())
    if kind == "R":
        return _relation(reader)
    if kind == "Y":
        return TypeInfo(reader.take(">I"), reader.string(), reader.string())
    if kind == "I":
        relation = reader.take(">I")
        if reader.byte() != "N":
            raise ValueError("pgoutput: insert without a new tuple")
        return Insert(relation, reader.tuple())
    if kind == "U":
        return _update(reader)
    if kind == "D":
        relation, old_kind = reader.take(">I"), reader.byte()
        return Delete(relation, reader.tuple(), old_kind == "K")
    if kind == "T":
        count, options = reader.take(">i"), reader.take(">B")
        relations = tuple(reader.take(">I") for _ in range(count))
        return Truncate(relations, bool(options & 1), bool(options & 2))
    raise ValueError(f"pgoutput: message kind {kind!r} is not part of protocol version 1")
