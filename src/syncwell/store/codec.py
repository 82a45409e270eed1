"""How a `ChangeBatch` is written into the journal: msgpack, with ext types for SQL values.

msgpack packs and unpacks in C, so a batch of thousands of rows costs microseconds per row,
and unlike pickle, reading a journal written by someone else cannot run code. Values msgpack
has no type for (naive datetimes, dates, times, decimals, UUIDs, intervals) travel as ext types
and come back as the same Python type, so a destination receives exactly what the source read.

Pages larger than 16 KiB are compressed with LZ4 (about 2.5x on CRM-like rows, at over
500 MB/s): the journal writes, checkpoints and reads every byte, and SQLite's cost per entry
grows with its size.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import cast

import lz4.frame
import msgpack

from syncwell.errors import StoreError
from syncwell.types import ChangeBatch, Op, Row

__all__ = ["decode_batch", "encode_batch", "pack_values", "unpack_values"]

_FORMAT = 1
_COMPRESS_FROM = 16 * 1024
_LZ4_MAGIC = b"\x04\x22\x4d\x18"  # an LZ4 frame; a msgpack document never starts so
_NAIVE_DATETIME, _DATE, _TIME, _DECIMAL, _UUID, _TIMEDELTA, _TZ_TIME, _IP, _TEXT = range(1, 10)
_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
    ipaddress.IPv4Interface,
    ipaddress.IPv6Interface,
)
_IP_BY_NAME = {kind.__name__: kind for kind in _IP_TYPES}


def _default(value: object) -> msgpack.ExtType:
    # Checked most common first; tz-aware datetimes never get here (msgpack packs them itself).
    if isinstance(value, dt.datetime):
        return msgpack.ExtType(_NAIVE_DATETIME, value.isoformat().encode())
    if isinstance(value, dt.date):
        return msgpack.ExtType(_DATE, value.isoformat().encode())
    if isinstance(value, Decimal):
        return msgpack.ExtType(_DECIMAL, str(value).encode())
    if isinstance(value, uuid.UUID):
        return msgpack.ExtType(_UUID, value.bytes)
    if isinstance(value, dt.time):
        code = _TZ_TIME if value.tzinfo is not None else _TIME
        return msgpack.ExtType(code, value.isoformat().encode())
    if isinstance(value, dt.timedelta):
        return msgpack.ExtType(_TIMEDELTA, _pack_parts(value))
    if isinstance(value, _IP_TYPES):
        return msgpack.ExtType(_IP, f"{type(value).__name__}:{value}".encode())
    # Anything else (ranges, bit strings, a driver's own types) travels as its text, which
    # the destination parses or refuses (a dead letter with the reason), never a crash.
    return msgpack.ExtType(_TEXT, str(value).encode())


def _pack_parts(value: dt.timedelta) -> bytes:
    # Exact over timedelta's whole range, which overflows a 64-bit count of microseconds.
    packed: bytes = msgpack.packb((value.days, value.seconds, value.microseconds))
    return packed


def _ext_hook(code: int, data: bytes) -> object:
    text = data.decode() if code not in (_UUID, _TIMEDELTA) else ""
    if code == _NAIVE_DATETIME:
        return dt.datetime.fromisoformat(text)
    if code == _DATE:
        return dt.date.fromisoformat(text)
    if code == _DECIMAL:
        return Decimal(text)
    if code == _UUID:
        return uuid.UUID(bytes=data)
    if code in (_TIME, _TZ_TIME):
        return dt.time.fromisoformat(text)
    if code == _IP:
        name, _, address = text.partition(":")
        return _IP_BY_NAME[name](address)
    if code == _TEXT:
        return text
    if code == _TIMEDELTA:
        days, seconds, microseconds = msgpack.unpackb(data)
        return dt.timedelta(days=days, seconds=seconds, microseconds=microseconds)
    return msgpack.ExtType(code, data)


def pack_values(values: Row) -> bytes:
    """A row of values, typed as the journal keeps them (a key kept to delete it later)."""
    packed: bytes = msgpack.packb(list(values), default=_default, datetime=True)
    return packed


def unpack_values(payload: bytes) -> Row:
    """The values `pack_values` packed, as the same Python types."""
    values = msgpack.unpackb(payload, ext_hook=_ext_hook, timestamp=3, strict_map_key=False)
    return tuple(values)


_OPS = {Op.UPSERT: 0, Op.DELETE: 1}
_OPS_BACK = (Op.UPSERT, Op.DELETE)


def encode_batch(batch: ChangeBatch) -> bytes:
    """The journal's bytes for a batch."""
    ops = None if batch.ops is None else bytes(_OPS[op] for op in batch.ops)
    document: tuple[object, ...] = (
        _FORMAT, batch.columns, batch.rows, ops, batch.observed_at, batch.copy_text
    )  # fmt: skip
    if batch.keys_repeat:  # a relayed message of joined pages; a journal entry never repeats
        document = (*document, True)
    packed: bytes = msgpack.packb(document, default=_default, datetime=True)
    if len(packed) < _COMPRESS_FROM:
        return packed
    compressed: bytes = lz4.frame.compress(packed)
    return compressed


def decode_batch(payload: bytes) -> ChangeBatch:
    """The batch that `encode_batch` wrote."""
    try:
        if payload.startswith(_LZ4_MAGIC):
            payload = lz4.frame.decompress(payload)
        version, columns, rows, ops, observed_at, *rest = msgpack.unpackb(
            payload, ext_hook=_ext_hook, timestamp=3, use_list=False, strict_map_key=False
        )
        copy_text = rest[0] if rest else None  # entries written before COPY text have 5 fields
        keys_repeat = bool(rest[1]) if len(rest) > 1 else False
    except (ValueError, RuntimeError, msgpack.UnpackException) as error:
        raise StoreError(f"a journal entry cannot be read: {error}") from error
    if version != _FORMAT:
        raise StoreError(
            f"a journal entry has format {version}; this syncwell reads {_FORMAT}. "
            "Run the syncwell version that wrote it until its journal drains."
        )
    return ChangeBatch(
        tuple(columns),
        cast("tuple[Row, ...]", rows),
        None if ops is None else [_OPS_BACK[b] for b in ops],
        observed_at,
        copy_text,
        keys_repeat,
    )
