"""The journal's encoding gives back exactly the values a source read."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.errors import StoreError
from syncwell.store.codec import decode_batch, encode_batch
from syncwell.types import ChangeBatch, Op

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.datetimes(),
    st.dates(),
    st.times(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.uuids(),
    st.timedeltas(),
    st.lists(st.text(), max_size=3).map(tuple),
)


@given(st.lists(st.tuples(values, values), max_size=20), st.booleans())
def test_every_sql_value_round_trips(rows: list[tuple[object, object]], with_ops: bool) -> None:
    """Rows of SQL-like values, with or without ops, decode to equal values of the same types."""
    ops = [Op.DELETE if i % 2 else Op.UPSERT for i in range(len(rows))] if with_ops else None
    batch = ChangeBatch(("a", "b"), rows, ops, 12.5)
    back = decode_batch(encode_batch(batch))
    assert back.columns == batch.columns and back.observed_at == 12.5
    assert list(back.rows) == rows
    assert [type(v) for row in back.rows for v in row] == [type(v) for row in rows for v in row]
    assert back.ops == ops


def test_specific_types_survive() -> None:
    """Naive and aware datetimes, decimals and UUIDs come back as themselves."""
    row = (
        dt.datetime(2026, 1, 2, 3, 4, 5, 6),
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        Decimal("12.340"),
        uuid.UUID(int=7),
    )
    assert decode_batch(encode_batch(ChangeBatch(("a", "b", "c", "d"), [row]))).rows[0] == row


def test_garbage_is_a_store_error_not_a_crash() -> None:
    """Bytes that are not a journal entry raise StoreError with what went wrong."""
    with pytest.raises(StoreError, match="cannot be read"):
        decode_batch(b"\xc1not msgpack")


def test_network_addresses_survive_and_unknown_types_travel_as_text() -> None:
    """inet/cidr values come back as themselves; a type the codec does not know becomes text."""
    import ipaddress

    class Range:
        def __str__(self) -> str:
            return "[1,5)"

    row = (ipaddress.ip_address("10.0.0.1"), ipaddress.ip_network("10.0.0.0/8"), Range())
    back = decode_batch(encode_batch(ChangeBatch(("a", "b", "c"), [row]))).rows[0]
    assert back == (row[0], row[1], "[1,5)")


def test_large_pages_are_compressed_and_come_back_whole() -> None:
    """A page over 16 KiB is stored LZ4-compressed, smaller, and decodes to the same bytes."""
    page = b"".join(f"{i}\tuser{i}@example.com\tlead\n".encode() for i in range(5000))
    encoded = encode_batch(ChangeBatch(("id", "email", "stage"), (), None, 1.0, page))
    assert encoded.startswith(b"\x04\x22\x4d\x18") and len(encoded) < len(page) / 2
    assert decode_batch(encoded).copy_text == page
    with pytest.raises(StoreError):
        decode_batch(encoded[:40])
