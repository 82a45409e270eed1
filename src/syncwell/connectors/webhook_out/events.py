"""Changes as webhook events: the id, the type and the JSON body of each.

The id is derived from the change itself, so every attempt to send one change carries the same
id (the receiver deduplicates on it) and two different changes never share one, without
keeping any state. The body holds nothing that changes between attempts either: the time in it
is when the source saw the change; only the signed ``webhook-timestamp`` header is new on each.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from syncwell.types import ChangeBatch, JSONValue, Op, Row, StreamSpec

__all__ = ["Event", "events_of", "to_json"]


@dataclass(frozen=True, slots=True)
class Event:
    """One change, ready to send.

    Attributes:
        id: the ``webhook-id``: the same for every attempt of this change.
        key: the record's key as people read it (``42``, or ``["eu", "42"]``).
        body: the JSON body, ASCII only.
    """

    id: str
    key: str | None
    body: str


def events_of(
    stream: StreamSpec, batch: ChangeBatch, *, upsert_type: str, delete_type: str
) -> list[Event]:
    """The batch's changes as events, the newest change of each key only, in batch order."""
    batch = batch.decoded()
    columns = batch.columns
    at = _iso(batch.observed_at)
    positions = [columns.index(name) for name in stream.key if name in columns]
    keyed = len(positions) == len(stream.key)
    # A batch of joined pages may hold a key twice (`keys_repeat`); sending both concurrently
    # could deliver them out of order, and the last one is the newest.
    newest: dict[str | int, int] = {}
    for index, row in enumerate(batch.rows):
        key = json.dumps([to_json(row[p]) for p in positions]) if keyed else index
        newest[key] = index
    events = []
    for index in sorted(newest.values()):
        row, op = batch.rows[index], batch.op(index)
        template = delete_type if op is Op.DELETE else upsert_type
        data = {name: to_json(value) for name, value in zip(columns, row, strict=True)}
        body = {"type": template.format(stream=stream.name), "timestamp": at, "data": data}
        events.append(
            Event(
                id=_event_id(stream.name, op, columns, row),
                key=_key_text([row[p] for p in positions]) if keyed else None,
                # ASCII: a lone surrogate from a JSON source would not encode as UTF-8.
                body=json.dumps(body, separators=(",", ":"), allow_nan=False),
            )
        )
    return events


def to_json(value: object) -> JSONValue:
    """A record value as JSON: times as ISO 8601, decimals and UUIDs as text, bytes as base64.

    Decimals go as text so that no digit is lost to a float; non-finite floats as text too,
    because JSON has no NaN.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(name): to_json(item) for name, item in value.items()}
    return str(value)  # Decimal, UUID and anything else a driver hands back


def _event_id(stream: str, op: Op, columns: Sequence[str], row: Row) -> str:
    # Everything the change is made of, and nothing about the attempt: the stream, the op and
    # every value (not just key and version, so a source that reuses a version for new values
    # still gets a new id and the receiver does not drop it as a duplicate).
    identity = [stream, op.value, list(columns), [to_json(value) for value in row]]
    digest = hashlib.sha256(json.dumps(identity, separators=(",", ":")).encode()).hexdigest()
    return f"evt_{digest[:32]}"


def _key_text(values: Sequence[object]) -> str:
    if len(values) == 1:
        return str(values[0])
    return json.dumps([str(value) for value in values])


def _iso(unix_seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(unix_seconds, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
