"""One webhook event the store cannot keep is refused alone: the events committed in the same
group are still taken in (before, on PostgreSQL, they all got a 503, and the sender's retries
of the bad one kept knocking out whatever shared its commit)."""

from __future__ import annotations

import asyncio

import pytest

from syncwell.engine.inbound import event_id_of
from syncwell.engine.webhooks import EventRefusedError, GroupCommitter
from syncwell.store import InboundEvent, open_store
from syncwell.workspace.webhooks import WebhookIntake


async def test_an_event_the_store_refuses_fails_alone(pg_state_url: str) -> None:
    """Eight good events and one whose id is longer than the store keeps, at once: eight are
    taken in, the ninth is refused with the store's reason (a 400, not a 503)."""
    store = await open_store(pg_state_url)
    committer = GroupCommitter(store.inbox, {"crm": 3600.0}, lambda _: None)
    stop = asyncio.Event()
    running = asyncio.create_task(committer.run(stop))
    try:
        events = [InboundEvent("crm", f"evt-{i}", 1.0) for i in range(8)]
        events.insert(4, InboundEvent("crm", "x" * 400, 1.0))
        results = await asyncio.gather(
            *(committer.submit(event) for event in events), return_exceptions=True
        )
    finally:
        stop.set()
        await running
        await store.close()
    refused = [result for result in results if isinstance(result, BaseException)]
    assert [type(error) for error in refused] == [EventRefusedError]
    assert "cannot be stored" in str(refused[0])
    assert [result for result in results if result is True] == [True] * 8


def test_a_long_body_id_is_kept_by_its_digest_and_control_characters_are_refused() -> None:
    """An id from the body longer than 256 characters dedupes by its SHA-256; one holding a
    NUL or another control character is refused before it reaches the store."""
    intake = WebhookIntake.model_validate(
        {"secret": "whsec_c3luY3dlbGw=", "streams": {"*": "contacts"}, "event_id": "id"}
    )
    long_id = event_id_of(intake, {"id": "e" * 300}, b"", None)
    assert long_id.startswith("sha256:") and long_id == event_id_of(
        intake, {"id": "e" * 300}, b"", None
    )
    assert event_id_of(intake, {"id": "e" * 256}, b"", None) == "e" * 256
    with pytest.raises(EventRefusedError, match="control characters"):
        event_id_of(intake, {"id": "evt\x00-1"}, b"", None)
