"""What a verified webhook body says: its id, its stream, and its records or their keys.

Pure reading, no I/O: `EventRouter` (engine/webhooks.py) turns what this finds into changes of
the flows that read the stream. Every way a body can fail to say it is an `EventRefusedError`
with the status and a reason the sender can act on; the event is then never applied, in part
or to another stream.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from syncwell.connectors.http.records import MISSING, dig
from syncwell.errors import SyncwellError
from syncwell.workspace.webhook_auth import PresetAuth
from syncwell.workspace.webhook_presets import preset
from syncwell.workspace.webhooks import BODY_ID, WebhookIntake

__all__ = [
    "EventRefusedError",
    "Reading",
    "at",
    "event_id_of",
    "read_event",
    "stream_of",
    "text_at",
]

Row = Mapping[str, object]


class EventRefusedError(SyncwellError):
    """A verified event that can't be taken in as it is; the sender gets `status` (a 4xx).

    Args:
        reason: what is wrong with the event and what would be taken.
        status: 400 for a malformed event, 422 for one of a stream that is not configured.
    """

    def __init__(self, reason: str, status: int = 400) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)

    def __reduce__(self) -> tuple[object, ...]:
        return (EventRefusedError, (self.reason, self.status))


@dataclass(frozen=True, slots=True)
class Reading:
    """The records an event carries, or, for a thin event, only their keys.

    Attributes:
        rows: the changed records, each an object.
        keys: a thin event's keys: a scalar for a one-column key, an object for a composite
            one. Empty with no rows: a bulk event that names nothing (re-read what changed).
    """

    rows: tuple[Row, ...]
    keys: tuple[object, ...]

    @property
    def names_nothing(self) -> bool:
        return not self.rows and not self.keys


def at(document: object, path: str) -> object:
    """The value at a dotted path (`properties.email`), or None where the path ends early.

    The same paths as the http connector reads records by, so a flow's `fields` mean one
    thing whether its records come by poll or by webhook.
    """
    value = dig(document, path)
    return None if value is MISSING else value


def text_at(document: object, path: str, what: str) -> str:
    """The text or number at `path`, as text; refused when it is anything else."""
    value = at(document, path)
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise EventRefusedError(f"the {what} must be text or a number at '{path}', got {value!r}")
    return str(value)


def event_id_of(intake: WebhookIntake, body: Row, raw: bytes, from_headers: str | None) -> str:
    """The event's id: the configured body path, else the headers', else the preset's path."""
    path = intake.event_id
    if path is None and from_headers is not None:
        return from_headers
    if path is None and isinstance(intake.auth, PresetAuth):
        path = preset(intake.auth.kind).event_id
    if path == BODY_ID:
        # A sender that sends no id retries with the same bytes; an identical body is also
        # an identical change, so taking it once is the same as taking it twice.
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if isinstance(path, tuple):  # several fields that are the id together
        return _storable_id(":".join(text_at(body, part, "event id") for part in path))
    return _storable_id(text_at(body, path or "id", "event id"))


_MAX_ID = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _storable_id(event_id: str) -> str:
    """An id from the body as the inbox keeps it: a long one by its digest (its identity is
    the same, and the store keeps 300 characters); control characters are refused."""
    if _CONTROL.search(event_id):
        raise EventRefusedError(f"the event id holds control characters: {event_id[:60]!r}")
    if len(event_id) > _MAX_ID:
        return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()
    return event_id


def stream_of(intake: WebhookIntake, body: Row, kind: str) -> str | None:
    """The stream the event changes; None for an event type nobody maps (acknowledged).

    Raises:
        EventRefusedError: 422 when `route_by` holds a value `streams` does not map: such an
            event is never applied to any stream.
    """
    if intake.route_by is None:
        return _match(intake.streams, kind)
    value = text_at(body, intake.route_by, "routing field")
    stream = _match(intake.streams, value)
    if stream is None:
        known = ", ".join(f"'{pattern}'" for pattern in intake.streams)
        raise EventRefusedError(
            f"'{intake.route_by}' is '{value}', which no stream is configured for (streams "
            f'maps {known}); the event was not applied. Add `"{value}": <stream>` under '
            "`streams:` to take it, or stop the sender sending it",
            status=422,
        )
    return stream


def read_event(intake: WebhookIntake, body: Row, key: Sequence[str] = ()) -> Reading:
    """The records, or the keys, an event of a stream somebody reads carries.

    Keys at `ids` make the event thin, whatever else it holds (its `data` is often an object
    that only wraps them); else the rows at `records`, or the one record at `record`. With
    `records` set, an event without rows whose `record` holds every `key` column is that one
    record: senders mix single and bulk events under one subscription.
    """
    if intake.ids is not None:
        keys = at(body, intake.ids)
        if keys is not None and keys != []:
            return Reading((), _keys(keys, intake.ids))
    record = at(body, intake.record)
    if intake.records is not None:
        rows = _rows(at(body, intake.records), intake.records)
        if not rows and key and _holds(record, key):
            return Reading((record,), ())
        return Reading(rows, ())
    if isinstance(record, dict):
        return Reading((record,), ())
    if intake.ids is not None:
        raise EventRefusedError(
            f"the event holds neither a record at '{intake.record}' nor keys at '{intake.ids}'"
        )
    raise EventRefusedError(f"'{intake.record}' must hold the changed record as an object")


def _holds(record: object, key: Sequence[str]) -> TypeGuard[dict[str, object]]:
    return isinstance(record, dict) and all(at(record, column) is not None for column in key)


def _keys(value: object, path: str) -> tuple[object, ...]:
    listed = tuple(value) if isinstance(value, list) else (value,)
    for key in listed:
        if isinstance(key, str) and _CONTROL.search(key):
            raise EventRefusedError(f"'{path}' holds a key with control characters: {key[:60]!r}")
        if isinstance(key, bool) or not isinstance(key, str | int | dict) or key == "":
            raise EventRefusedError(
                f"'{path}' must hold keys (text, numbers, or objects of key columns), got {key!r}"
            )
    return listed


def _rows(value: object, path: str) -> tuple[Row, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise EventRefusedError(f"'{path}' must hold a list of records (objects)")
    return tuple(value)


def _match(patterns: Mapping[str, str], value: str) -> str | None:
    return next((s for p, s in patterns.items() if fnmatch.fnmatchcase(value, p)), None)
