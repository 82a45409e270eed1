"""How a subscriber wants the CRM's changes: the shapes real senders use, chosen per subscription.

A change set (the records one API call changed) becomes, per subscription style:

* ``single`` (default): one event per record, `data` the record (the delete's: id and key);
* ``bulk``: one event per kind of change with every record in `data.rows` (a bulk delete's rows
  hold id and key), like a spreadsheet-database's "records updated" hook;
* ``thin``: one event per kind of change with only the keys, in `data.ids`: the receiver must
  read the records itself.

`types: generic` names events `records.after.insert|update|delete` for every table, with the
table in `data.table_name`, as tools do whose hooks are per base, not per table: that is how an
event of another table reaches a receiver that routes by type.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ChangeSet", "Event", "Style", "make_event", "render"]

Shape = Literal["single", "bulk", "thin"]
Types = Literal["per_object", "generic"]

_GENERIC = {"created": "insert", "updated": "update", "deleted": "delete"}


@dataclass(frozen=True)
class Event:
    """One change event; `body` is the exact JSON text that is signed and sent."""

    id: str
    type: str
    body: str
    duplicate: bool = False


@dataclass(frozen=True)
class Style:
    """What one subscriber gets: the shape of its events and how their types are named."""

    shape: Shape = "single"
    types: Types = "per_object"


@dataclass(frozen=True)
class ChangeSet:
    """The records one call changed in one table, each with what happened to it, in order."""

    table: str
    singular: str
    key: str
    occurred_at: str
    items: list[tuple[str, dict[str, object]]] = field(default_factory=list)


def make_event(event_type: str, data: dict[str, object], occurred_at: str) -> Event:
    """An event with a fresh `evt_` id; the id is in the body and the `webhook-id` header."""
    event_id = f"evt_{uuid.uuid4().hex}"
    payload = {"id": event_id, "type": event_type, "occurred_at": occurred_at, "data": data}
    return Event(event_id, event_type, json.dumps(payload, separators=(",", ":")))


def render(style: Style, changes: ChangeSet) -> list[Event]:
    """The events a subscriber of `style` gets for `changes`, in the order to send them."""
    if style.shape == "single":
        return [
            make_event(
                _type(style, changes, what), _data(style, changes, record), _at(record, changes)
            )
            for what, record in changes.items
        ]
    events = []
    for what in dict.fromkeys(what for what, _ in changes.items):
        records = [record for done, record in changes.items if done == what]
        data: dict[str, object] = {"table_name": changes.table}
        if style.shape == "bulk":
            data["rows"] = records
        else:
            data["ids"] = [record[changes.key] for record in records]
        kind = _type(style, changes, what if style.shape == "thin" else f"bulk_{what}")
        events.append(make_event(kind, data, changes.occurred_at))
    return events


def _type(style: Style, changes: ChangeSet, what: str) -> str:
    if style.types == "generic":
        return f"records.after.{_GENERIC[what.removeprefix('bulk_')]}"
    return f"{changes.singular}.{what}"


def _data(style: Style, changes: ChangeSet, record: dict[str, object]) -> dict[str, object]:
    if style.types == "generic":
        return record | {"table_name": changes.table}
    return record


def _at(record: dict[str, object], changes: ChangeSet) -> str:
    return str(record.get("updated_at", changes.occurred_at))
