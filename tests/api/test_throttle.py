"""Guessing is slowed down per client: after 10 failed tokens, sessions or logins in a minute
a client gets 429 with Retry-After, a right token too, until its window ends; other clients
are untouched, every app on the store agrees, and /metrics counts both; on both stores."""

from __future__ import annotations

import asyncio
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from syncwell.api.server import ApiServer
from syncwell.store import open_store
from syncwell.store.throttle import Throttle, ThrottlePolicy
from syncwell.testing import FakeClock
from syncwell.workspace import Workspace
from tests.api.sessionkit import app_of, as_client, cookie, make_token, served
from tests.waiting import until

__all__ = ["served"]  # the fixture, for pytest

_LIMIT = ThrottlePolicy().failures
_WRONG = {"authorization": "Bearer swt_1_not-the-secret"}


async def test_wrong_bearer_tokens_get_429_then_even_a_right_one(served: Workspace) -> None:
    """10 wrong bearer tokens get 401; the 11th attempt, and a right token after it, get 429
    with a Retry-After of at most the window; another client with the right token is let in."""
    _, token = await make_token(served)
    right = {"authorization": f"Bearer {token}"}
    app = app_of(served)
    async with as_client(app, "192.0.2.1") as guesser:
        for _ in range(_LIMIT):
            assert (await guesser.get("/api/v1/flows", headers=_WRONG)).status_code == 401
        held = await guesser.get("/api/v1/flows", headers=_WRONG)
        assert held.status_code == 429
        assert 0 < int(held.headers["retry-after"]) <= 60
        assert "try again in" in held.json()["detail"]
        refused = await guesser.get("/api/v1/flows", headers=right)
        assert refused.status_code == 429 and "retry-after" in refused.headers
    async with as_client(app, "192.0.2.2") as other:
        assert (await other.get("/api/v1/flows", headers=right)).status_code == 200


async def test_wrong_logins_and_sessions_share_the_clients_count(served: Workspace) -> None:
    """Wrong tokens in the login form, wrong session cookies and wrong bearer tokens all count
    against one client: after 10 of them the form answers 429 with Retry-After and says when,
    and a right token does not log in."""
    _, token = await make_token(served)
    async with as_client(app_of(served), "192.0.2.3") as client:
        for _ in range(4):
            assert (await client.post("/login", data={"token": "swt_2_x"})).status_code == 401
        for _ in range(3):
            ended = cookie("sws_not-a-session")
            assert (await client.get("/api/v1/flows", headers=ended)).status_code == 401
        for _ in range(_LIMIT - 7):
            assert (await client.get("/api/v1/flows", headers=_WRONG)).status_code == 401
        form = await client.post("/login", data={"token": token})
        assert form.status_code == 429 and int(form.headers["retry-after"]) > 0
        assert "Too many wrong tokens" in form.text and "set-cookie" not in form.headers
        page = await client.get("/incidents", headers={**cookie("sws_x"), "accept": "text/html"})
        assert page.status_code == 429 and "retry-after" in page.headers


async def test_no_credential_is_no_guess(served: Workspace) -> None:
    """Requests without any token (a browser before login, a health probe gone astray) are
    refused with 401 but count for nothing: the 50th still gets 401, not 429."""
    async with as_client(app_of(served)) as client:
        for _ in range(50):
            assert (await client.get("/api/v1/flows")).status_code == 401


async def test_a_second_app_on_the_same_store_sees_the_throttle(served: Workspace) -> None:
    """Failures made against one app (say `syncwell run`'s) hold the client off another app
    (`syncwell serve`'s) on the same store: the count is in the store, not in a process."""
    _, token = await make_token(served)
    async with as_client(app_of(served), "192.0.2.4") as first:
        for _ in range(_LIMIT):
            assert (await first.get("/api/v1/flows", headers=_WRONG)).status_code == 401
    async with as_client(app_of(served), "192.0.2.4") as second:
        held = await second.post("/login", data={"token": token})
        assert held.status_code == 429 and "retry-after" in held.headers


async def test_metrics_count_failed_and_throttled_attempts(served: Workspace) -> None:
    """/metrics shows syncwell_auth_failures_total and syncwell_auth_throttled_total by how
    the credential came, grown by what one client's guessing did."""
    _, token = await make_token(served)
    app = app_of(served)
    async with as_client(app, "192.0.2.5") as reader:
        before = await _refusals(reader, token)
    async with as_client(app, "192.0.2.6") as guesser:
        for _ in range(_LIMIT):
            await guesser.get("/api/v1/flows", headers=_WRONG)
        for _ in range(3):
            await guesser.get("/api/v1/flows", headers=_WRONG)
        await guesser.post("/login", data={"token": token})
    async with as_client(app, "192.0.2.5") as reader:
        after = await _refusals(reader, token)
    grown = {key: after[key] - before.get(key, 0.0) for key in after}
    assert grown == {
        ("syncwell_auth_failures_total", "bearer"): _LIMIT,
        ("syncwell_auth_failures_total", "session"): 0,
        ("syncwell_auth_failures_total", "login"): 0,
        ("syncwell_auth_throttled_total", "bearer"): 3,
        ("syncwell_auth_throttled_total", "session"): 0,
        ("syncwell_auth_throttled_total", "login"): 1,
    }


async def test_the_window_passes_and_old_rows_are_pruned(served: Workspace) -> None:
    """A throttled client waits out the rest of its window, to the second, then starts a new
    one; clients whose windows ended are deleted by the next failure's pruning."""
    clock = FakeClock()
    store = await open_store(served.state)
    try:
        throttle = Throttle(store.engine, ThrottlePolicy(failures=3, window_s=60), clock.wall)
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            await throttle.failed(address)
        clock.advance(20)
        assert [await throttle.failed("198.51.100.9") for _ in range(3)] == [1, 2, 3]
        assert await throttle.wait_s("198.51.100.9") == 60
        assert await throttle.wait_s("198.51.100.1") == 0
        clock.advance(45.5)
        assert await throttle.wait_s("198.51.100.9") == 15
        clock.advance(15)
        assert await throttle.wait_s("198.51.100.9") == 0
        assert await throttle.failed("198.51.100.9") == 1  # a new window
        assert await throttle.clients() == 1  # the first three's windows ended: pruned
    finally:
        await store.close()


async def test_processes_failing_at_once_all_count(served: Workspace) -> None:
    """Two stores' throttles (two processes) counting 40 failures of one client at once count
    40: the count is one atomic insert-or-update, never read, added and written back."""
    stores = [await open_store(served.state) for _ in range(2)]
    try:
        throttles = [Throttle(store.engine, ThrottlePolicy(failures=1000)) for store in stores]
        await asyncio.gather(*(throttles[n % 2].failed("203.0.113.7") for n in range(40)))
        assert await throttles[0].failed("203.0.113.7") == 41
    finally:
        for store in stores:
            await store.close()


async def test_an_ipv6_client_is_counted_by_its_64(served: Workspace) -> None:
    """Addresses of one IPv6 /64 (which one machine may fill at will) share a count; the next
    /64 has its own; an IPv4-mapped address counts as the IPv4 one."""
    app = app_of(served)
    for n in range(_LIMIT):
        async with as_client(app, f"2001:db8::{n + 1:x}") as client:
            await client.get("/api/v1/flows", headers=_WRONG)
    async with as_client(app, "2001:db8::ffff") as same:
        assert (await same.get("/api/v1/flows", headers=_WRONG)).status_code == 429
    async with as_client(app, "2001:db8:0:1::1") as next_one:
        assert (await next_one.get("/api/v1/flows", headers=_WRONG)).status_code == 401
    for _ in range(_LIMIT):
        async with as_client(app, "::ffff:192.0.2.8") as mapped:
            await mapped.get("/api/v1/flows", headers=_WRONG)
    async with as_client(app, "192.0.2.8") as plain:
        assert (await plain.get("/api/v1/flows", headers=_WRONG)).status_code == 429


async def test_guessing_300_tokens_checks_only_10(served: Workspace) -> None:
    """The campaign's 300 wrong tokens: 10 are checked (and recorded as uses), 290 are held
    off with 429 before any check; the time they took is printed for the record."""
    app = app_of(served)
    started = time.perf_counter()
    async with as_client(app, "192.0.2.9") as client:
        codes = [
            (await client.get("/api/v1/flows", headers=_WRONG)).status_code for _ in range(300)
        ]
    took = time.perf_counter() - started
    assert codes.count(401) == _LIMIT and codes.count(429) == 300 - _LIMIT
    store = await open_store(served.state)
    try:
        assert len(await store.tokens.uses(limit=1000)) == _LIMIT
    finally:
        await store.close()
    print(f"300 wrong bearer tokens: {took:.2f} s, {codes.count(429)} answered 429")


async def test_behind_a_proxy_on_loopback_each_forwarded_client_counts_alone(
    served: Workspace,
) -> None:
    """A real server (uvicorn on loopback) trusts a proxy there: clients named by its
    X-Forwarded-For are counted apart, so one guesser holds off only itself, and an address
    the client itself wrote before the proxy's does not get it out of its count."""
    server = ApiServer(app_of(served), port=0)
    stop = asyncio.Event()
    serving = asyncio.create_task(server.serve(stop))
    try:
        await until(lambda: server.port != 0, within_s=10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as proxy:

            async def wrong(forwarded: str) -> int:
                headers = {**_WRONG, "x-forwarded-for": forwarded}
                return (await proxy.get("/api/v1/flows", headers=headers)).status_code

            assert [await wrong("198.51.100.20") for _ in range(_LIMIT)] == [401] * _LIMIT
            assert await wrong("198.51.100.20") == 429
            assert await wrong("203.0.113.99, 198.51.100.20") == 429  # spoofed first hop
            assert await wrong("198.51.100.21") == 401
    finally:
        stop.set()
        await serving


async def _refusals(client: httpx.AsyncClient, token: str) -> dict[tuple[str, str], float]:
    answer = await client.get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name.startswith("syncwell_auth_") and sample.name.endswith("_total"):
                found[(sample.name, sample.labels["via"])] = sample.value
    return found
