"""Reading a verified webhook body: its id, its stream, its rows or keys — and every way a body
can fail to say them is a 4xx reason, never a guess."""

from __future__ import annotations

import hashlib

import pytest

from syncwell.engine.inbound import EventRefusedError, event_id_of, read_event, stream_of
from syncwell.workspace.webhooks import WebhookIntake


def _intake(**fields: object) -> WebhookIntake:
    settings: dict[str, object] = {
        "auth": {"kind": "none", "unsigned": True},
        "streams": {"contact.*": "contacts"},
    }
    return WebhookIntake.model_validate(settings | fields)


def test_event_ids_come_from_the_body_path_then_the_headers_then_the_preset() -> None:
    """An explicit `event_id` path wins; else the auth's id header; else the preset's path."""
    body = {"id": "body-id", "event_id": "slack-id", "action": {"id": "trello-id"}}
    assert event_id_of(_intake(), body, b"", "header-id") == "header-id"
    assert event_id_of(_intake(), body, b"", None) == "body-id"
    assert event_id_of(_intake(event_id="event_id"), body, b"", "header-id") == "slack-id"
    slack = _intake(auth={"kind": "slack", "secret": "s"})
    assert event_id_of(slack, body, b"", None) == "slack-id"
    trello = _intake(auth={"kind": "trello", "secret": "s", "url": "https://x.example/h"})
    assert event_id_of(trello, body, b"", None) == "trello-id"


def test_an_id_of_several_fields_joins_them_and_needs_each() -> None:
    """HubSpot's eventId is not unique alone: `event_id: [portalId, subscriptionId, eventId,
    occurredAt]` is the four together; the retry's attemptNumber is not part of it, and a
    missing part is a 400, not an id that would merge two events."""
    intake = _intake(event_id=["portalId", "subscriptionId", "eventId", "occurredAt"])
    body = {"portalId": 62515, "subscriptionId": 7, "eventId": 1, "occurredAt": 1767000000000}
    assert event_id_of(intake, {**body, "attemptNumber": 0}, b"", None) == (
        "62515:7:1:1767000000000"
    )
    assert event_id_of(intake, {**body, "attemptNumber": 3}, b"", None) == (
        "62515:7:1:1767000000000"
    )
    del body["occurredAt"]
    with pytest.raises(EventRefusedError, match="occurredAt"):
        event_id_of(intake, body, b"", None)


def test_body_ids_are_the_sha256_of_the_raw_bytes() -> None:
    """`event_id: "@body"` (and Ghost, which sends no id): the same bytes, the same id."""
    raw = b'{"member": {"current": {"email": "a@b.c"}}}'
    expected = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert event_id_of(_intake(event_id="@body"), {}, raw, None) == expected
    ghost = _intake(auth={"kind": "ghost", "secret": "s"})
    assert event_id_of(ghost, {}, raw, "a-header-id") == "a-header-id"
    assert event_id_of(ghost, {}, raw, None) == expected


def test_route_by_a_field_refuses_an_unmapped_value_with_422() -> None:
    """With `route_by`, the field picks the stream; a table nobody configured is a 422 that
    names it and the fix; without it, an unmapped type is acknowledged (None)."""
    routed = _intake(route_by="data.table_name", streams={"Contacts": "contacts"})
    assert stream_of(routed, {"data": {"table_name": "Contacts"}}, "x") == "contacts"
    with pytest.raises(EventRefusedError) as caught:
        stream_of(routed, {"data": {"table_name": "Orders"}}, "records.after.update")
    assert caught.value.status == 422 and "'Orders'" in caught.value.reason
    assert "streams:" in caught.value.reason
    with pytest.raises(EventRefusedError) as missing:
        stream_of(routed, {"data": {}}, "x")
    assert missing.value.status == 400
    assert stream_of(_intake(), {}, "invoice.paid") is None


def test_rows_keys_and_records() -> None:
    """`records` gives every row; `ids` gives keys (one or a list, scalars or objects) and
    wins over a `data` that only wraps them; one `record` is the default."""
    bulk = _intake(records="data.rows")
    rows = [{"email": "a@x.io"}, {"email": "b@x.io"}]
    assert read_event(bulk, {"data": {"rows": rows}}).rows == tuple(rows)
    assert read_event(bulk, {"data": {"count": 3}}).names_nothing
    thin = _intake(ids="data.ids")
    assert read_event(thin, {"data": {"ids": ["a@x.io", 7]}}).keys == ("a@x.io", 7)
    assert read_event(thin, {"data": {"ids": "a@x.io"}}).keys == ("a@x.io",)
    assert read_event(thin, {"data": {"ids": [{"a": 1, "b": 2}]}}).keys == ({"a": 1, "b": 2},)
    assert read_event(thin, {"data": {"email": "a@x.io"}}).rows == ({"email": "a@x.io"},)
    assert read_event(_intake(), {"data": {"email": "a@x.io"}}).rows == ({"email": "a@x.io"},)


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        ({"records": "data.rows"}, {"data": {"rows": {"email": "a@x.io"}}}),
        ({"records": "data.rows"}, {"data": {"rows": ["a@x.io"]}}),
        ({"ids": "data.ids"}, {"data": {"ids": [True]}}),
        ({"ids": "data.ids"}, {"data": {"ids": [["nested"]]}}),
        ({"ids": "data.ids"}, {"other": 1}),
        ({}, {"data": "not an object"}),
    ],
)
def test_bodies_that_say_nothing_readable_are_refused_with_400(
    fields: dict[str, object], body: dict[str, object]
) -> None:
    """Rows that are not objects, keys that are not keys, no record: 400 with the path."""
    with pytest.raises(EventRefusedError) as caught:
        read_event(_intake(**fields), body)
    assert caught.value.status == 400 and "'data" in caught.value.reason


def test_a_single_record_event_is_taken_where_bulk_rows_are_expected() -> None:
    """With `records` set, an event without rows whose `record` holds the key is that record
    (senders mix both under one subscription); one without the key names nothing (re-read)."""
    bulk = _intake(records="data.rows")
    single = {"data": {"email": "a@x.io", "name": "A"}}
    assert read_event(bulk, single, ["email"]).rows == ({"email": "a@x.io", "name": "A"},)
    assert read_event(bulk, {"data": {"count": 2}}, ["email"]).names_nothing
