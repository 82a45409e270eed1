"""The pgoutput decoder reads each message of protocol version 1 as the PostgreSQL docs lay it
out ("Logical Replication Message Formats"), and refuses what it cannot read with a
ValueError, never another exception."""

from __future__ import annotations

import contextlib
import datetime as dt
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.connectors.postgres import pgoutput

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _string(text: str) -> bytes:
    return text.encode() + b"\0"


def _tuple(values: tuple[pgoutput.Value, ...]) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif isinstance(value, pgoutput.Unchanged):
            out += b"u"
        else:
            data = value.encode()
            out += b"t" + struct.pack(">i", len(data)) + data
    return out


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


values = st.tuples(*[st.one_of(st.none(), st.just(pgoutput.UNCHANGED), st.text(max_size=50))] * 3)
moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@given(lsn=st.integers(0, 2**64 - 1), moment=moments, xid=st.integers(0, 2**32 - 1))
def test_begin_and_commit(lsn: int, moment: dt.datetime, xid: int) -> None:
    """Begin and Commit carry their positions and commit time exactly."""
    begin = b"B" + struct.pack(">QqI", lsn, _micros(moment), xid)
    assert pgoutput.decode(begin) == pgoutput.Begin(lsn, moment, xid)
    commit = b"C\0" + struct.pack(">QQq", lsn, lsn + 1 if lsn < 2**64 - 1 else lsn, _micros(moment))
    decoded = pgoutput.decode(commit)
    assert isinstance(decoded, pgoutput.Commit) and decoded.commit_lsn == lsn
    assert decoded.committed_at == moment


def test_relation_with_its_key_columns() -> None:
    """A Relation names its schema, table, replica identity and columns, keys flagged."""
    data = (
        b"R" + struct.pack(">I", 16385) + _string("public") + _string("orders") + b"f"
        + struct.pack(">h", 2)
        + b"\x01" + _string("id") + struct.pack(">Ii", 20, -1)
        + b"\x00" + _string("note") + struct.pack(">Ii", 25, -1)
    )  # fmt: skip
    assert pgoutput.decode(data) == pgoutput.Relation(
        16385,
        "public",
        "orders",
        "f",
        (pgoutput.Column("id", 20, -1, True), pgoutput.Column("note", 25, -1, False)),
    )


@given(new=values, old=values, kind=st.sampled_from(["K", "O", None]))
def test_changes_carry_their_tuples(
    new: tuple[pgoutput.Value, ...], old: tuple[pgoutput.Value, ...], kind: str | None
) -> None:
    """Insert, Update (with no old tuple, the old key, or the old row) and Delete hand back
    each value as sent: text, NULL, or unchanged-TOAST."""
    relation = struct.pack(">I", 7)
    assert pgoutput.decode(b"I" + relation + b"N" + _tuple(new)) == pgoutput.Insert(7, new)
    before = b"" if kind is None else kind.encode() + _tuple(old)
    update = pgoutput.decode(b"U" + relation + before + b"N" + _tuple(new))
    assert update == pgoutput.Update(7, None if kind is None else old, kind != "O", new)
    gone = pgoutput.decode(b"D" + relation + (kind or "K").encode() + _tuple(old))
    assert gone == pgoutput.Delete(7, old, kind != "O")


def test_truncate_origin_and_type() -> None:
    """Truncate lists its relations and options; Origin and Type their names."""
    truncate = b"T" + struct.pack(">iB", 2, 3) + struct.pack(">II", 5, 6)
    assert pgoutput.decode(truncate) == pgoutput.Truncate((5, 6), True, True)
    origin = b"O" + struct.pack(">Q", 99) + _string("node_a")
    assert pgoutput.decode(origin) == pgoutput.Origin(99, "node_a")
    kind = b"Y" + struct.pack(">I", 16400) + _string("public") + _string("mood")
    assert pgoutput.decode(kind) == pgoutput.TypeInfo(16400, "public", "mood")


@pytest.mark.parametrize(
    "data",
    [b"S\0\0\0\1", b"b", b"", b"I\0\0\0\1N\0\1t\0\0\0\x09ab", b"I\0\0\0\1N\0\1t\0\0\0\2\xff\xfe"],
    ids=["stream start (protocol 2)", "binary values", "empty", "cut short", "not UTF-8"],
)
def test_what_protocol_1_does_not_send_or_a_broken_message_is_refused(data: bytes) -> None:
    """Messages of later protocol versions and malformed ones raise ValueError."""
    with pytest.raises(ValueError, match="pgoutput"):
        pgoutput.decode(data)


@given(st.binary(max_size=64))
def test_any_bytes_decode_or_raise_value_error(data: bytes) -> None:
    """Whatever arrives, the decoder answers a message or a ValueError."""
    with contextlib.suppress(ValueError):
        pgoutput.decode(data)


def test_lsn_text_round_trips() -> None:
    """LSNs read and print as PostgreSQL writes them."""
    assert pgoutput.format_lsn(pgoutput.parse_lsn("16/B374D848")) == "16/B374D848"
    assert pgoutput.parse_lsn("0/0") == 0
