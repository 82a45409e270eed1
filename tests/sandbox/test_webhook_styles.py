"""The CRM's subscription styles: bulk rows, ids only, a static header token, one event type
for every table — the shapes real senders use, so the fast tests can meet them."""

from __future__ import annotations

import asyncio

from tests.sandbox.conftest import Tools
from tests.sandbox.receiver import Receiver

UPSERT = "/v1/contacts/batch/upsert"


async def _subscribe(tools: Tools, url: str, **options: object) -> dict[str, object]:
    body = {"url": url, "secret": "static-token-0123", "auth": "header", **options}
    answer = await tools.crm.post("/v1/webhooks/subscriptions", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_a_bulk_subscriber_gets_one_event_with_every_row(tools: Tools) -> None:
    """Three contacts in one call are one `contact.bulk_created` holding the three rows; the
    token rides in the chosen header, and nothing is signed."""
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url, shape="bulk", header="X-Parse-Webhook-Key")
        inputs = [{"email": f"b{n}@example.com"} for n in range(3)]
        await tools.crm.post(UPSERT, json={"inputs": inputs})
        await tools.crm.delete("/v1/contacts/b1@example.com")
        created, deleted = await hooks.wait_for(2)
    assert created.headers["x-parse-webhook-key"] == "static-token-0123"
    assert "webhook-signature" not in created.headers
    assert created.event["type"] == "contact.bulk_created"
    assert [row["email"] for row in created.event["data"]["rows"]] == [
        "b0@example.com",
        "b1@example.com",
        "b2@example.com",
    ]
    assert deleted.event["type"] == "contact.bulk_deleted"
    assert deleted.event["data"]["rows"][0]["email"] == "b1@example.com"


async def test_a_thin_subscriber_gets_only_the_keys(tools: Tools) -> None:
    """`shape: thin`: `data.ids` holds the keys, and no record is in the event."""
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url, shape="thin")
        inputs = [{"email": "t0@example.com"}, {"email": "t1@example.com"}]
        await tools.crm.post(UPSERT, json={"inputs": inputs})
        (delivery,) = await hooks.wait_for(1)
        await asyncio.sleep(0.1)
    assert delivery.event["type"] == "contact.created"
    assert delivery.event["data"] == {
        "table_name": "contacts",
        "ids": ["t0@example.com", "t1@example.com"],
    }
    assert len(hooks.deliveries) == 1


async def test_generic_types_send_every_table_under_one_type(tools: Tools) -> None:
    """`types: generic`: contacts and companies both send `records.after.update`, told apart
    only by `data.table_name`."""
    async with Receiver() as hooks:
        await _subscribe(tools, hooks.url, types="generic")
        url = tools.endpoints.crm_url
        await tools.anonymous.post(f"{url}/_sandbox/companies/touch", json={"count": 1})
        await tools.anonymous.post(f"{url}/_sandbox/contacts/touch", json={"count": 1})
        deliveries = await hooks.wait_for(2)
    assert {d.event["type"] for d in deliveries} == {"records.after.update"}
    assert sorted(d.event["data"]["table_name"] for d in deliveries) == ["companies", "contacts"]


async def test_bad_subscription_options_are_refused(tools: Tools) -> None:
    """An unknown shape or option is a 400 that lists what is allowed."""
    for bad in ({"shape": "fat"}, {"colour": "red"}, {"header": "Bad Header"}):
        body = {"url": "http://127.0.0.1:1/hooks", "auth": "header", "secret": "t", **bad}
        answer = await tools.crm.post("/v1/webhooks/subscriptions", json=body)
        assert answer.status_code == 400, (bad, answer.text)


def test_sandbox_flags_choose_the_subscriptions_style() -> None:
    """--webhook-shape, --webhook-header and --webhook-generic-types reach the subscription."""
    from syncwell.sandbox.command import build_parser, config_from_args

    flags = ["--webhook-url", "http://127.0.0.1:9/hooks", "--webhook-secret", "tok"]
    flags += ["--webhook-shape", "thin", "--webhook-header", "X-Token", "--webhook-generic-types"]
    (hook,) = config_from_args(build_parser().parse_args(flags)).crm.webhooks
    assert (hook.shape, hook.auth, hook.header, hook.types) == (
        "thin",
        "header",
        "X-Token",
        "generic",
    )
    (plain,) = config_from_args(build_parser().parse_args(flags[:4])).crm.webhooks
    assert (plain.shape, plain.auth, plain.types) == ("single", "standard", "per_object")
