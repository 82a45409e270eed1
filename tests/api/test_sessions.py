"""Dashboard sessions are their own short-lived, revocable secrets: the cookie never holds the
token, logging out or revoking the token ends them in the store, and an idle or old one ends
by itself; on both state stores, over HTTP."""

from __future__ import annotations

import json

from sqlalchemy import select

from syncwell.api.auth import csrf_token
from syncwell.store import open_store
from syncwell.store.schema import sessions as sessions_table
from syncwell.store.sessions import SessionPolicy, Sessions
from syncwell.testing import FakeClock
from syncwell.workspace import Workspace
from tests.api.sessionkit import app_of, as_client, cookie, log_in, make_token, served

__all__ = ["served"]  # the fixture, for pytest


async def test_the_cookie_is_a_session_of_its_own_never_the_token(served: Workspace) -> None:
    """Logging in sets a cookie that is not the token and holds nothing of it; the store keeps
    only its hash; the cookie reads the API, and a cookie carrying the token itself (what
    login used to set) is refused; each is recorded as a use, the session's as its token's."""
    token_id, token = await make_token(served)
    async with as_client(app_of(served)) as client:
        session = await log_in(client, token)
        assert session != token and token.split("_", 2)[2] not in session
        assert (await client.get("/api/v1/flows", headers=cookie(session))).status_code == 200
        assert (await client.get("/api/v1/flows", headers=cookie(token))).status_code == 401
    store = await open_store(served.state)
    try:
        async with store.engine.connect() as connection:
            (row,) = (await connection.execute(select(sessions_table))).mappings()
        assert row["token_id"] == token_id and row["role"] == "viewer"
        assert session not in json.dumps({k: str(v) for k, v in row.items()})
        uses = [(use["token_id"], use["accepted"]) for use in await store.tokens.uses()]
        assert uses == [(None, False), (token_id, True), (token_id, True)]  # newest first
    finally:
        await store.close()


async def test_logout_ends_the_session_so_the_old_cookie_no_longer_works(
    served: Workspace,
) -> None:
    """After logging out, the same cookie sent again gets 401 from the API and the login
    form from a page: the session ended in the store, not only in the browser."""
    _, token = await make_token(served, "operator")
    async with as_client(app_of(served)) as client:
        session = await log_in(client, token)
        assert (await client.get("/", headers=cookie(session))).status_code == 200
        out = await client.post("/logout", headers=cookie(session))
        assert out.status_code == 303
        assert (await client.get("/api/v1/flows", headers=cookie(session))).status_code == 401
        page = await client.get("/incidents", headers=cookie(session))
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        csrf = {**cookie(session), "x-csrf-token": csrf_token(session)}
        replay = await client.post("/api/v1/dead-letters/1/replay", headers=csrf)
        assert replay.status_code == 401
        # The token itself still works, as a bearer and for a new login.
        bearer = {"authorization": f"Bearer {token}"}
        assert (await client.get("/api/v1/flows", headers=bearer)).status_code == 200
        again = await log_in(client, token)
        assert (await client.get("/api/v1/flows", headers=cookie(again))).status_code == 200


async def test_logging_in_again_ends_the_session_it_replaces(served: Workspace) -> None:
    """A login from a browser that still has a session ends that one, rather than leave it
    live in the store until it idles out."""
    token_id, token = await make_token(served)
    async with as_client(app_of(served)) as client:
        first = await log_in(client, token)
        answer = await client.post("/login", data={"token": token}, headers=cookie(first))
        assert answer.status_code == 303
        assert (await client.get("/api/v1/flows", headers=cookie(first))).status_code == 401
    store = await open_store(served.state)
    try:
        assert await store.tokens.sessions.count(token_id) == 1
    finally:
        await store.close()


async def test_revoking_the_token_ends_every_session_of_it(served: Workspace) -> None:
    """Two browsers logged in with one token, a third with another: revoking the first token
    ends both of its sessions (their rows go) and leaves the other's working."""
    token_id, token = await make_token(served)
    _, other = await make_token(served)
    app = app_of(served)
    async with as_client(app) as client:
        first, second, kept = [await log_in(client, t) for t in (token, token, other)]
        store = await open_store(served.state)
        try:
            assert await store.tokens.revoke(token_id)
            assert await store.tokens.sessions.count(token_id) == 0
        finally:
            await store.close()
        for ended in (first, second):
            assert (await client.get("/api/v1/flows", headers=cookie(ended))).status_code == 401
        assert (await client.get("/api/v1/flows", headers=cookie(kept))).status_code == 200


async def test_a_session_ends_when_idle_and_when_old(served: Workspace) -> None:
    """A session unused for 12 h ends, and so does one used every hour once 7 days have
    passed since login; an ended session's row is deleted when it is found ended."""
    clock = FakeClock()
    store = await open_store(served.state)
    try:
        token, _ = await store.tokens.create("viewer")
        sessions = Sessions(store.engine, SessionPolicy(), wall=clock.wall)
        idle = await sessions.open(token.id, token.role)
        clock.advance(12 * 3600 - 1)
        assert await sessions.find(idle) is not None
        clock.advance(12 * 3600 - 1)  # used just now: 12 h more from here
        assert await sessions.find(idle) is not None
        clock.advance(12 * 3600)
        assert await sessions.find(idle) is None
        active = await sessions.open(token.id, token.role)
        for _ in range(7 * 24 - 1):
            clock.advance(3600)
            assert await sessions.find(active) is not None
        clock.advance(3600)
        assert await sessions.find(active) is None
        assert await sessions.count(token.id) == 0
    finally:
        await store.close()


async def test_ended_sessions_are_pruned_from_the_store(served: Workspace) -> None:
    """Sessions nobody comes back to are deleted when a later login prunes: the table holds
    the live ones, not every login ever made."""
    clock = FakeClock()
    store = await open_store(served.state)
    try:
        token, _ = await store.tokens.create("viewer")
        sessions = Sessions(store.engine, SessionPolicy(idle_s=600), wall=clock.wall)
        for _ in range(20):
            await sessions.open(token.id, token.role)
        clock.advance(3600)
        live = await sessions.open(token.id, token.role)
        assert await sessions.count(token.id) == 1 and await sessions.find(live) is not None
    finally:
        await store.close()
