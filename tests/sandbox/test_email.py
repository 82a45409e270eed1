"""The email platform: partial-success batches, eventual consistency, offsets, auth."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.sandbox.conftest import DELAY_S, Tools

BATCH = "/api/lists/main/members:batch"
MEMBERS = "/api/lists/main/members"


async def _emails(tools: Tools, **params: Any) -> list[str]:
    response = await tools.email.get(MEMBERS, params={"count": 1000, **params})
    assert response.status_code == 200, response.text
    return [member["email"] for member in response.json()["members"]]


async def test_batch_of_501_is_refused_with_the_limit_named(tools: Tools) -> None:
    """More than 500 members is a 400 that explains the limit; nothing is written."""
    members = [{"email": f"m{i}@example.com"} for i in range(501)]
    response = await tools.email.post(BATCH, json={"members": members})
    assert response.status_code == 400 and "at most 500" in response.json()["detail"]
    await asyncio.sleep(DELAY_S + 0.1)
    assert await _emails(tools) == []


async def test_bad_members_are_reported_and_the_good_ones_written(tools: Tools) -> None:
    """A batch with a bad email answers 200, lists the bad one, and writes the others."""
    members = [
        {"email": "ok1@example.com", "tags": ["vip"]},
        {"email": "broken@", "first_name": "No"},
        {"email": "ok2@example.com", "status": "unsubscribed"},
        {"email": "ok3@example.com", "tags": "vip"},
    ]
    response = await tools.email.post(BATCH, json={"members": members})
    assert response.status_code == 200
    body = response.json()
    assert body["updated"] == 2
    assert [(e["index"], e["email"]) for e in body["errors"]] == [
        (1, "broken@"),
        (3, "ok3@example.com"),
    ]
    await asyncio.sleep(DELAY_S + 0.1)
    assert await _emails(tools) == ["ok1@example.com", "ok2@example.com"]


async def test_writes_become_visible_only_after_the_delay(tools: Tools) -> None:
    """A new member, an update and a delete each show only once the visibility delay passed."""
    await tools.email.post(BATCH, json={"members": [{"email": "late@example.com"}]})
    assert await _emails(tools) == []
    await asyncio.sleep(DELAY_S + 0.1)
    assert await _emails(tools) == ["late@example.com"]

    await tools.email.post(
        BATCH, json={"members": [{"email": "late@example.com", "first_name": "Lee"}]}
    )
    stale = await tools.email.get(f"{MEMBERS}/late@example.com")
    assert stale.json()["first_name"] is None, "reads still see the old version"
    await asyncio.sleep(DELAY_S + 0.1)
    fresh = await tools.email.get(f"{MEMBERS}/late@example.com")
    assert fresh.json()["first_name"] == "Lee"
    assert fresh.json()["updated_at"] > stale.json()["updated_at"]

    assert (await tools.email.delete(f"{MEMBERS}/late@example.com")).status_code == 204
    assert await _emails(tools) == ["late@example.com"]
    await asyncio.sleep(DELAY_S + 0.1)
    assert await _emails(tools) == []


async def test_offset_pages_walk_every_member_once(tools: Tools) -> None:
    """Walking `offset` by `count` reads each member once and `total_items` counts them all."""
    members = [{"email": f"reader{i:03d}@example.com"} for i in range(120)]
    assert (await tools.email.post(BATCH, json={"members": members})).json()["updated"] == 120
    await asyncio.sleep(DELAY_S + 0.1)
    seen: list[str] = []
    for offset in range(0, 150, 50):
        page = (await tools.email.get(MEMBERS, params={"offset": offset, "count": 50})).json()
        assert page["total_items"] == 120
        seen += [member["email"] for member in page["members"]]
    assert sorted(seen) == sorted(m["email"] for m in members) and len(set(seen)) == 120
    over = await tools.email.get(MEMBERS, params={"count": 1001})
    assert over.status_code == 400


async def test_cleaned_members_cannot_be_resubscribed(tools: Tools) -> None:
    """Subscribing a cleaned (bounced) address is a per-member error, a permanent one."""
    await tools.email.post(BATCH, json={"members": [{"email": "b@x.io", "status": "cleaned"}]})
    again = await tools.email.post(
        BATCH, json={"members": [{"email": "b@x.io", "status": "subscribed"}]}
    )
    assert again.json()["updated"] == 0 and "cleaned" in again.json()["errors"][0]["message"]


async def test_wrong_key_is_401_and_an_unknown_list_is_404(tools: Tools) -> None:
    """The API key is checked before anything else, and only the configured list exists."""
    url = f"{tools.endpoints.email_url}{MEMBERS}"
    assert (await tools.anonymous.get(url)).status_code == 401
    wrong = await tools.anonymous.get(url, headers={"X-Api-Key": "guess"})
    assert wrong.status_code == 401 and wrong.json()["title"] == "API Key Invalid"
    assert (await tools.email.get("/api/lists/other/members")).status_code == 404
