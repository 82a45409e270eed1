"""The fault knobs: rate limits, outages, injected errors, latency, messy records."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from syncwell.sandbox.stamps import parse_instant
from tests.sandbox.conftest import Tools

CONTACT_FIELDS = {
    "id": int,
    "email": str,
    "first_name": str,
    "last_name": str,
    "phone": str,
    "company_domain": str,
    "lifecycle_stage": str,
    "created_at": str,
    "updated_at": str,
}
MEMBER_FIELDS = {
    "email": str,
    "first_name": str,
    "last_name": str,
    "status": str,
    "tags": list,
    "updated_at": str,
}
TASK_FIELDS = {
    "id": int,
    "title": str,
    "status": str,
    "assignee_email": str,
    "contact_email": str,
    "due_date": str,
    "modified_at": str,
}


def _is_clean(record: dict[str, Any], fields: dict[str, type], dates: tuple[str, ...]) -> bool:
    """A strict reader's check: exactly the known fields, the right types, parseable dates."""
    if set(record) != set(fields):
        return False
    typed = all(record[k] is None or type(record[k]) is kind for k, kind in fields.items())
    return typed and all(parse_instant(record[name]) is not None for name in dates)


async def _top_of_a_second() -> None:
    """Wait for the start of the next one-second rate-limit window (same monotonic clock)."""
    await asyncio.sleep(1.01 - time.monotonic() % 1)


async def test_rate_limit_answers_429_with_headers_and_counts_early_requests(
    tools: Tools,
) -> None:
    """Over the limit: 429, Retry-After and X-RateLimit-*; a request before it expired is early."""
    url = tools.endpoints.crm_url
    await tools.set_faults(url, rate_limit_per_s=3)
    await _top_of_a_second()
    answers = [await tools.crm.get("/v1/contacts", params={"limit": 1}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[3]
    assert refused.headers["retry-after"] == "1" and refused.headers["x-ratelimit-limit"] == "3"
    assert refused.json()["category"] == "RATE_LIMITS"
    assert (await tools.stats(url))["early_requests"] == 0

    await asyncio.sleep(0.05)
    await tools.crm.get("/v1/contacts", params={"limit": 1})  # told to wait 1 s; came early
    await asyncio.sleep(1.0)
    polite = await tools.crm.get("/v1/contacts", params={"limit": 1})
    assert polite.status_code == 200
    stats = await tools.stats(url)
    assert stats["early_requests"] == 1 and stats["rate_limited"] >= 1
    log = (await tools.anonymous.get(f"{url}/_sandbox/requests")).json()["requests"]
    assert [entry["early"] for entry in log[-2:]] == [True, False]


async def test_absolute_outage_window_answers_503_with_retry_after(tools: Tools) -> None:
    """Inside a {start, end} window every API call is a 503 with Retry-After; admin still works."""
    url = tools.endpoints.crm_url
    now = time.time()
    await tools.set_faults(url, outages=[{"start": now - 1, "end": now + 0.5}])
    down = await tools.crm.get("/v1/contacts")
    assert down.status_code == 503 and int(down.headers["retry-after"]) >= 1
    assert (await tools.anonymous.get(f"{url}/_sandbox/faults")).status_code == 200
    await asyncio.sleep(0.6)
    assert (await tools.crm.get("/v1/contacts")).status_code == 200
    assert (await tools.stats(url))["outage_rejections"] == 1


async def test_periodic_outage_is_down_for_the_end_of_each_period(tools: Tools) -> None:
    """every_s=0.6, for_s=0.3: up for the first 0.3 s of each period, down for the rest."""
    url = tools.endpoints.project_url
    await tools.set_faults(url, outages=[{"every_s": 0.6, "for_s": 0.3}])
    started = time.monotonic()
    statuses = []
    for at in (0.15, 0.45, 0.75, 1.05):  # up, down, up, down, each 0.15 s from an edge
        await asyncio.sleep(started + at - time.monotonic())
        answer = await tools.project.get("/api/v2/tasks")
        statuses.append(answer.status_code)
        assert (answer.status_code == 503) == ("retry-after" in answer.headers)
    assert statuses == [200, 503, 200, 503]


async def test_error_rate_injects_5xx_on_the_api_only(tools: Tools) -> None:
    """error_rate=1 fails every API call with 500/502/503; admin routes never fail."""
    url = tools.endpoints.email_url
    await tools.set_faults(url, error_rate=1.0)
    answers = [await tools.email.get("/api/lists/main/members") for _ in range(12)]
    assert {a.status_code for a in answers} <= {500, 502, 503} and len(answers) == 12
    stats = await tools.stats(url)
    assert stats["errors_injected"] == 12
    await tools.set_faults(url, error_rate=0.0)
    assert (await tools.email.get("/api/lists/main/members")).status_code == 200


async def test_latency_is_added_to_each_request(tools: Tools) -> None:
    """latency_ms=200 makes an API call take at least 0.2 s."""
    await tools.set_faults(tools.endpoints.crm_url, latency_ms=200, latency_jitter_ms=50)
    started = time.monotonic()
    await tools.crm.get("/v1/contacts/x@example.com")
    assert time.monotonic() - started >= 0.2


async def test_malformed_rate_spoils_listed_records_but_not_stored_ones(tools: Tools) -> None:
    """malformed_rate=1: every listed record fails a strict check; the stored ones are intact."""
    await tools.email.post(
        "/api/lists/main/members:batch",
        json={"members": [{"email": f"m{i}@example.com", "tags": ["t"]} for i in range(30)]},
    )
    endpoints = tools.endpoints
    for url in (endpoints.crm_url, endpoints.email_url, endpoints.project_url):
        await tools.set_faults(url, malformed_rate=1.0)
    await asyncio.sleep(0.4)  # the members become visible

    contacts = (await tools.crm.get("/v1/contacts", params={"limit": 100})).json()["results"]
    members = (await tools.email.get("/api/lists/main/members", params={"count": 30})).json()
    tasks = (await tools.project.get("/api/v2/tasks", params={"limit": 50})).json()["data"]
    dates = ("created_at", "updated_at")
    assert not any(_is_clean(record, CONTACT_FIELDS, dates) for record in contacts)
    assert not any(_is_clean(m, MEMBER_FIELDS, ("updated_at",)) for m in members["members"])
    assert not any(_is_clean(task, TASK_FIELDS, ("modified_at",)) for task in tasks)
    assert (await tools.stats(endpoints.crm_url))["malformed_records"] == 100

    await tools.set_faults(endpoints.crm_url, malformed_rate=0.0)
    clean = (await tools.crm.get("/v1/contacts", params={"limit": 100})).json()["results"]
    assert all(_is_clean(record, CONTACT_FIELDS, dates) for record in clean)


async def test_bad_knobs_are_refused_and_delete_restores_the_start_settings(
    tools: Tools,
) -> None:
    """An unknown knob or an out-of-range value is a 400 that changes nothing; DELETE resets."""
    url = f"{tools.endpoints.crm_url}/_sandbox/faults"
    before = (await tools.anonymous.get(url)).json()
    for body in ({"error_rate": 2}, {"chaos": True}, {"outages": [{"every_s": 1, "for_s": 5}]}):
        refused = await tools.anonymous.post(url, json=body)
        assert refused.status_code == 400, body
    assert (await tools.anonymous.get(url)).json() == before
    await tools.set_faults(tools.endpoints.crm_url, latency_ms=5)
    assert (await tools.anonymous.delete(url)).json() == before
