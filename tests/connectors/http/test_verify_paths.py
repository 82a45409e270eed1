"""Where an http tool's written records are read back: the update path, and in its answer
where the update's body put the record or each of its fields."""

from __future__ import annotations

from typing import Any

import pytest

from syncwell.connectors import http, unverifiable
from syncwell.connectors.http.endpoints import WriteConfig
from syncwell.connectors.http.verify import rereading


def _write(**write: Any) -> WriteConfig:
    return WriteConfig.model_validate(write)


def test_the_update_body_says_where_the_record_is_in_the_answer() -> None:
    """`{issue: "{{record}}"}` is read back from `issue` in the GET of the update path."""
    found = rereading(_write(update={"path": "/issues/{id}.json", "body": {"issue": "{{record}}"}}))
    assert found is not None and found.path == "/issues/{id}.json"
    assert found.answer_path("subject") == "issue.subject"
    assert found.answer_path("custom.done_ratio") == "issue.custom.done_ratio"


def test_fields_a_body_places_one_by_one_are_read_there_and_others_not_at_all() -> None:
    """A body that sends `subject` as `title` reads it back from `title`; a column the body
    never sends is not compared."""
    body = {"data": {"title": "{{record.subject}}", "meta": ["{{record.owner}}"]}}
    found = rereading(_write(update={"path": "/tasks/{key}", "body": body}))
    assert found is not None
    assert found.answer_path("subject") == "data.title"
    assert found.answer_path("owner") == "data.meta.0"
    assert found.answer_path("priority") is None


def test_write_verify_names_a_get_of_its_own() -> None:
    """`write.verify:` reads back where a tool's GET differs from its update."""
    write = _write(
        update={"path": "/tasks/{id}/update", "method": "POST"},
        verify={"path": "/tasks/{id}", "record": "data"},
    )
    found = rereading(write)
    assert found is not None and found.path == "/tasks/{id}"
    assert found.answer_path("title") == "data.title"


@pytest.mark.parametrize(
    "write",
    [
        {"upsert": {"path": "/contacts/batch", "body": {"inputs": "{{records}}"}}},
        {"create": {"path": "/contacts"}},
    ],
)
def test_a_stream_without_a_url_per_record_cannot_be_read_back(write: dict[str, Any]) -> None:
    """Only bulk or create endpoints: no URL names one record, and the reason says what to
    add."""
    settings = http.Settings.model_validate(
        {"kind": "http", "base_url": "http://tool", "streams": {"contacts": {"write": write}}}
    )
    reason = unverifiable(settings, "contacts")
    assert reason is not None and "write.verify" in reason


def test_a_bulk_write_is_read_back_in_the_shape_of_its_item() -> None:
    """A bulk upsert names no URL per record; with `write.verify` each record is read back
    at its own GET, field by field where `item:` put them, and a column the item does not
    send (the tool keeps its own updated_at) is not compared."""
    write = _write(
        upsert={
            "path": "/members:batch",
            "body": {"members": "{{records}}"},
            "item": {"email": "{{record.email}}", "name": "{{record.first_name}}"},
        },
        verify={"path": "/members/{email}"},
    )
    found = rereading(write)
    assert found is not None and found.path == "/members/{email}"
    assert found.answer_path("email") == "email"
    assert found.answer_path("first_name") == "name"
    assert found.answer_path("updated_at") is None
