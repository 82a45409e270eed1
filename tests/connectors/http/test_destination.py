"""Writes: bulk chunks, per-record errors, create-then-update, deletes, nested records."""

from __future__ import annotations

import math
from typing import Any

import pytest

from syncwell.connectors.http import HttpDestination
from syncwell.errors import IntegrationFatalError, RecordRejectedError
from syncwell.types import ChangeBatch, Op, StreamSpec
from tests.connectors.http.api import ApiState
from tests.connectors.http.conftest import RecordingBudget, http_settings

HUBSPOT_WRITE = {
    "upsert": {
        "method": "POST",
        "path": "/v1/contacts/batch/upsert",
        "body": {"inputs": "{{records}}"},
        "item": {"id": "{{key}}", "idProperty": "email", "properties": "{{record.properties}}"},
        "max_batch": 100,
    },
    "errors": {"path": "errors", "index": "index", "message": "message"},
}
MEMBERS_WRITE = {
    "upsert": {
        "method": "POST",
        "path": "/api/lists/L1/members:batch",
        "body": {"members": "{{records}}"},
        "max_batch": 500,
    },
    "errors": {"path": "errors", "key": "email", "index": None, "message": "message"},
}
THINGS_WRITE = {
    "create": {"path": "/things"},
    "update": {"path": "/things/{id}"},
    "delete": {"path": "/things/{id}"},
}


def settings_for(base_url: str, write: dict[str, Any]) -> Any:
    return http_settings(base_url, streams={"contacts": {"write": write}})


def stream(key: str = "id") -> StreamSpec:
    return StreamSpec(name="contacts", key=(key,), version="v")


def contacts_batch(count: int, bad: tuple[int, ...] = ()) -> ChangeBatch:
    columns = ("id", "properties.email", "properties.firstname", "v")
    rows = [
        (f"c{i}", "broken" if i in bad else f"u{i}@example.com", f"N{i}", i) for i in range(count)
    ]
    return ChangeBatch(columns, rows)


async def test_bulk_upsert_is_chunked_at_max_batch(
    api: ApiState, server_url: str, destination_for: Any, budget: RecordingBudget
) -> None:
    """250 records go as 100 + 100 + 50, each one rendered through the item template."""
    destination = await destination_for(settings_for(server_url, HUBSPOT_WRITE))
    await destination.write(stream(), contacts_batch(250))
    sizes = [len(r.body["inputs"]) for r in api.seen("/v1/contacts/batch/upsert")]
    assert sizes == [100, 100, 50]
    assert api.upserted[0] == {
        "id": "c0",
        "idProperty": "email",
        "properties": {"email": "u0@example.com", "firstname": "N0"},
    }
    assert budget.acquired == 3 and HttpDestination.paces_itself is True


async def test_item_error_by_index_names_the_record(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """An errors entry with an index is a RecordRejectedError with that record's key."""
    destination = await destination_for(settings_for(server_url, HUBSPOT_WRITE))
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream(), contacts_batch(150, bad=(120, 130)))
    assert caught.value.key == "c120"
    assert caught.value.reason == "invalid email 'broken'"
    assert "2 refused" in str(caught.value)


async def test_all_or_nothing_400_lists_the_refused_record(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A 400 whose body lists refused records names the record, not just the batch."""
    api.all_or_nothing = True
    destination = await destination_for(settings_for(server_url, HUBSPOT_WRITE))
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream(), contacts_batch(10, bad=(4,)))
    assert caught.value.key == "c4" and api.upserted == []


async def test_item_error_by_key_value(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """An errors entry that names the record by its key value maps back to that record."""
    destination = await destination_for(settings_for(server_url, MEMBERS_WRITE))
    batch = ChangeBatch(("email", "name"), [("a@x.org", "A"), ("oops", "B"), ("c@x.org", "C")])
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream("email"), batch)
    assert caught.value.key == "oops"
    assert api.seen("/api/lists/L1/members:batch")[0].body == {
        "members": [
            {"email": "a@x.org", "name": "A"},
            {"email": "oops", "name": "B"},
            {"email": "c@x.org", "name": "C"},
        ]
    }


async def test_create_falls_back_to_update_on_conflict(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """With create and update only, an existing record's 409 turns into an update."""
    api.things["t1"] = {"id": "t1", "email": "old@x.org"}
    destination = await destination_for(settings_for(server_url, THINGS_WRITE))
    batch = ChangeBatch(("id", "email"), [("t1", "new@x.org"), ("t2", "two@x.org")])
    await destination.write(stream(), batch)
    await destination.write(stream(), batch)  # twice: the same end state
    assert api.things == {
        "t1": {"id": "t1", "email": "new@x.org"},
        "t2": {"id": "t2", "email": "two@x.org"},
    }
    methods = [r.method for r in api.seen("/things")]
    # The second time, t2's create is remembered as written and not sent again; t1's create
    # ended in a 409, so it is tried again (and updated again).
    first, second = ["POST", "PATCH", "POST"], ["POST", "PATCH"]
    assert methods == [*first, *second]


async def test_deletes_escape_the_key_and_count_404_as_done(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A delete fills the path with the URL-escaped key; a record already gone is fine."""
    api.things["a/b c"] = {"id": "a/b c"}
    destination = await destination_for(settings_for(server_url, THINGS_WRITE))
    batch = ChangeBatch(("id", "email"), [("a/b c", None), ("gone", None)], [Op.DELETE] * 2)
    await destination.write(stream(), batch)
    assert api.things == {}
    assert [r.raw_path for r in api.seen("/things")] == ["/things/a%2Fb%20c", "/things/gone"]


async def test_single_record_422_is_rejected_with_the_reason(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A 422 for one record is a RecordRejectedError carrying the API's own message."""
    destination = await destination_for(settings_for(server_url, THINGS_WRITE))
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream(), ChangeBatch(("id", "email"), [("t9", "nope")]))
    assert caught.value.key == "t9" and caught.value.reason == "email is invalid"
    assert "POST /things answered 422" in str(caught.value)


async def test_values_without_json_form_reject_the_record(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A NaN cannot be sent as JSON: the record is refused, and nothing is sent."""
    destination = await destination_for(settings_for(server_url, THINGS_WRITE))
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream(), ChangeBatch(("id", "score"), [("t1", math.nan)]))
    assert caught.value.key == "t1" and api.requests == []


async def test_delete_without_endpoint_is_rejected_and_unknown_stream_is_fatal(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A delete with no delete endpoint dead-letters; a stream not configured is fatal."""
    destination = await destination_for(settings_for(server_url, HUBSPOT_WRITE))
    deletion = ChangeBatch(("id",), [("c1",)], [Op.DELETE])
    with pytest.raises(RecordRejectedError, match=r"write\.delete"):
        await destination.write(stream(), deletion)
    with pytest.raises(IntegrationFatalError, match="deals"):
        await destination.write(StreamSpec(name="deals", key=("id",)), deletion)


async def test_a_retried_batch_resends_only_the_chunks_that_failed(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """Writing the same batch again sends nothing; a changed record alone is sent."""
    destination = await destination_for(settings_for(server_url, THINGS_WRITE))
    rows = [(f"t{i}", f"{i}@x.org") for i in range(3)]
    await destination.write(stream(), ChangeBatch(("id", "email"), rows))
    sent = len(api.seen("/things"))
    await destination.write(stream(), ChangeBatch(("id", "email"), rows))
    assert len(api.seen("/things")) == sent
    rows[1] = ("t1", "new@x.org")
    await destination.write(stream(), ChangeBatch(("id", "email"), rows))
    assert len(api.seen("/things")) == sent + 2  # its create: 409, then its update
    assert api.things["t1"]["email"] == "new@x.org"


async def test_an_update_of_a_record_missing_in_the_tool_rejects_that_record_only(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """A PATCH to /things/{id} answered 404 means that record was deleted in the tool: a
    RecordRejectedError for it (a dead letter with the reason, the others go on), not the
    integration-wide failure that opened the breaker and stalled `run --once`. A 404 on a
    collection URL (a wrong path) is still fatal."""
    write = {"update": {"path": "/things/{id}"}}
    destination = await destination_for(settings_for(server_url, write))
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(stream(), ChangeBatch(("id", "email"), [("t404", "x@x.org")]))
    assert caught.value.key == "t404"
    assert "missing in" in caught.value.reason and "replay" in caught.value.reason
    wrong_path = {"update": {"path": "/no/such/things"}}
    destination = await destination_for(settings_for(server_url, wrong_path))
    with pytest.raises(IntegrationFatalError):
        await destination.write(stream(), ChangeBatch(("id", "email"), [("t1", "x@x.org")]))
