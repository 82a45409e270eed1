"""CRM webhooks: signed, one per change, retried, and duplicated or reordered on request."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter

from standardwebhooks import Webhook

from syncwell.sandbox import WebhookSubscription
from tests.sandbox.conftest import Tools, running, small_config
from tests.sandbox.receiver import Delivery, Receiver

SECRET = "whsec_" + base64.b64encode(b"sandbox-test-secret-0123456789").decode()
UPSERT = "/v1/contacts/batch/upsert"


async def _subscribe(tools: Tools, url: str) -> None:
    response = await tools.crm.post(
        "/v1/webhooks/subscriptions", json={"url": url, "secret": SECRET}
    )
    assert response.status_code == 201, response.text


def _verified(delivery: Delivery) -> dict[str, object]:
    """The event, after Standard Webhooks accepted the signature over the raw body."""
    event = Webhook(SECRET).verify(delivery.body, delivery.headers)
    assert isinstance(event, dict) and event["id"] == delivery.headers["webhook-id"]
    return event


async def test_each_change_sends_one_signed_event(tools: Tools) -> None:
    """Create, update and delete each send one verified event with the record, in order."""
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url)
        inputs = [{"email": "one@example.com"}, {"email": "two@example.com"}]
        await tools.crm.post(UPSERT, json={"inputs": inputs})
        await tools.crm.post(UPSERT, json={"inputs": [{"email": "one@example.com", "phone": "1"}]})
        await tools.crm.post(UPSERT, json={"inputs": [{"email": "one@example.com", "phone": "1"}]})
        await tools.crm.delete("/v1/contacts/two@example.com")
        deliveries = await hooks.wait_for(4)
        await asyncio.sleep(0.2)  # the unchanged upsert must not send anything late
        events = [_verified(delivery) for delivery in deliveries]
    assert [e["type"] for e in events] == [
        "contact.created",
        "contact.created",
        "contact.updated",
        "contact.deleted",
    ]
    assert len({e["id"] for e in events}) == 4 and all(
        str(e["id"]).startswith("evt_") for e in events
    )
    updated = events[2]
    assert updated["data"]["phone"] == "1"  # type: ignore[index]
    assert updated["occurred_at"] == updated["data"]["updated_at"]  # type: ignore[index]
    assert events[3]["data"]["email"] == "two@example.com"  # type: ignore[index]
    stats = await tools.stats(tools.endpoints.crm_url)
    assert stats["webhooks"]["sent"] == 4 and stats["webhooks"]["pending"] == 0


async def test_simulated_user_edits_echo_as_webhooks(tools: Tools) -> None:
    """Changes made through the admin routes send their events like any other change."""
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url)
        url = tools.endpoints.crm_url
        await tools.anonymous.post(f"{url}/_sandbox/contacts/touch", json={"count": 3})
        await tools.anonymous.post(f"{url}/_sandbox/contacts/create", json={"count": 2})
        await tools.anonymous.post(f"{url}/_sandbox/companies/touch", json={"count": 1})
        events = [_verified(delivery) for delivery in await hooks.wait_for(6)]
    assert Counter(str(e["type"]) for e in events) == {
        "contact.updated": 3,
        "contact.created": 2,
        "company.updated": 1,
    }


async def test_failed_sends_are_retried_with_the_same_id(tools: Tools) -> None:
    """A subscriber that fails twice still gets the event, same id, valid signature."""
    async with Receiver(fail_first=2) as hooks:
        await _subscribe(tools, hooks.url)
        await tools.crm.post(UPSERT, json={"inputs": [{"email": "retry@example.com"}]})
        (delivery,) = await hooks.wait_for(1)
        _verified(delivery)
    assert {refused.headers["webhook-id"] for refused in hooks.refused} == {
        delivery.headers["webhook-id"]
    }
    webhooks = (await tools.stats(tools.endpoints.crm_url))["webhooks"]
    assert webhooks["failed"] == 2 and webhooks["sent"] == 1


async def test_duplicate_knob_sends_every_event_twice(tools: Tools) -> None:
    """duplicate_webhook_rate=1: each event arrives twice with the same id, both verifiable."""
    await tools.set_faults(tools.endpoints.crm_url, duplicate_webhook_rate=1.0)
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url)
        inputs = [{"email": f"dup{i}@example.com"} for i in range(3)]
        await tools.crm.post(UPSERT, json={"inputs": inputs})
        deliveries = await hooks.wait_for(6)
        await asyncio.sleep(0.2)
    ids = Counter(str(_verified(delivery)["id"]) for delivery in deliveries)
    assert len(deliveries) == 6 and sorted(ids.values()) == [2, 2, 2]
    assert (await tools.stats(tools.endpoints.crm_url))["webhooks"]["duplicated"] == 3


async def test_reorder_knob_shuffles_events_but_loses_none(tools: Tools) -> None:
    """reorder_webhooks: events arrive out of change order, each exactly once."""
    await tools.set_faults(
        tools.endpoints.crm_url, reorder_webhooks=True, reorder_window=10, reorder_hold_s=0.3
    )
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url)
        inputs = [{"email": f"order{i:02d}@example.com"} for i in range(20)]
        await tools.crm.post(UPSERT, json={"inputs": inputs})
        deliveries = await hooks.wait_for(20)
    arrived = [str(_verified(d)["occurred_at"]) for d in deliveries]
    assert sorted(arrived) != arrived, "out of order"
    assert len(set(arrived)) == 20


async def test_subscriptions_from_config_survive_and_bad_secrets_are_refused() -> None:
    """A subscription given at start is listed and used; a secret that cannot sign is a 400."""
    async with Receiver() as hooks:
        config = small_config()
        crm = config.crm.model_copy(
            update={"webhooks": (WebhookSubscription(url=hooks.url, secret=SECRET),)}
        )
        async with running(config.model_copy(update={"crm": crm})) as tools:
            listed = (await tools.crm.get("/v1/webhooks/subscriptions")).json()["results"]
            assert [(s["url"], s["secret"]) for s in listed] == [(hooks.url, SECRET)]
            await tools.crm.post(UPSERT, json={"inputs": [{"email": "cfg@example.com"}]})
            _verified((await hooks.wait_for(1))[0])
            bad = await tools.crm.post(
                "/v1/webhooks/subscriptions", json={"url": hooks.url, "secret": "whsec_"}
            )
            assert bad.status_code == 400
