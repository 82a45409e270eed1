"""The REST API under /api/v1: every route by role, and what it answers, on a workspace a
real run left a dead letter in."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.api import create_app
from syncwell.api.auth import SESSION_COOKIE, csrf_token
from syncwell.store import ROLES, open_store
from syncwell.workspace import Workspace

ROUTES = [
    ("GET", "/api/v1/workspace", "viewer"),
    ("GET", "/api/v1/flows", "viewer"),
    ("GET", "/api/v1/measurements", "viewer"),
    ("GET", "/api/v1/incidents", "viewer"),
    ("GET", "/api/v1/dead-letters", "viewer"),
    ("GET", "/api/v1/dead-letters/1", "viewer"),
    ("GET", "/api/v1/constraint/history", "viewer"),
    ("POST", "/api/v1/constraint", "operator"),
    ("GET", "/api/v1/constraint", "viewer"),
    ("POST", "/api/v1/dead-letters/1/discard", "operator"),
]


@pytest.fixture
async def workspace(tmp_path: Path) -> Workspace:
    """Two SQLite systems and one flow polled every 20 minutes against a 5-minute SLO; the
    destination refuses the row whose value is 'bad', so a run leaves one dead letter."""
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, f"2026-01-01 00:00:{i:02d}", "bad" if i == 3 else "ok") for i in range(10)],
        )
    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT CHECK (v != 'bad'))"
        )
    (tmp_path / "syncwell.yaml").write_text(
        "core: a\nsystems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, lookback: 0s,"
        " interval: 20m, slo: {freshness: 5m}}\n"
    )
    loaded = load_workspace(tmp_path / "syncwell.yaml")
    await Engine(loaded).run(once=True)
    return loaded


@pytest.fixture
async def client(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(workspace=workspace))
    async with httpx.AsyncClient(transport=transport, base_url="http://syncwell") as client:
        yield client


async def _tokens(workspace: Workspace) -> dict[str, dict[str, str]]:
    store = await open_store(workspace.state)
    try:
        made = {role: (await store.tokens.create(role))[1] for role in ROLES}
    finally:
        await store.close()
    return {role: {"authorization": f"Bearer {text}"} for role, text in made.items()}


async def test_every_route_by_role(workspace: Workspace, client: httpx.AsyncClient) -> None:
    """Each route without a token gets 401; a role below the route's gets 403; at or above
    it, the route answers (2xx, or 404/409 where the thing asked for is not there)."""
    headers = await _tokens(workspace)
    for method, path, needed in ROUTES:
        assert (await client.request(method, path)).status_code == 401, path
        for role in ROLES:
            answer = await client.request(method, path, headers=headers[role])
            if ROLES.index(role) < ROLES.index(needed):
                assert answer.status_code == 403, (path, role)
            else:
                assert answer.status_code in {200, 404, 409}, (path, role, answer.text)


async def test_a_viewer_reads_and_an_operator_replays(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A viewer sees the flow, the refused record and, after an operator's analysis, the
    constraint; the viewer cannot replay, the operator can, once."""
    headers = await _tokens(workspace)
    viewer, operator = headers["viewer"], headers["operator"]
    (flow,) = (await client.get("/api/v1/flows", headers=viewer)).json()
    assert flow["flow"] == "f"
    (letter,) = (await client.get("/api/v1/dead-letters", headers=viewer)).json()
    assert letter["data"]["v"] == "bad" and "CHECK" in letter["reason"]
    assert (await client.get("/api/v1/constraint", headers=viewer)).status_code == 404
    made = await client.post("/api/v1/constraint", headers=operator)
    assert made.json()["constraint"]["reason"] == "poison"  # 1 refused of 10: past 1%
    kept = (await client.get("/api/v1/constraint", headers=viewer)).json()
    assert kept["constraint"]["integration"] == "b" and kept["breaching"] == ["f"]
    replay = f"/api/v1/dead-letters/{letter['id']}/replay"
    assert (await client.post(replay, headers=viewer)).status_code == 403
    assert (await client.post(replay, headers=operator)).json()["status"] == "replayed"
    assert (await client.post(replay, headers=operator)).status_code == 409
    replayed = await client.get("/api/v1/dead-letters?status=replayed", headers=viewer)
    assert [d["id"] for d in replayed.json()] == [letter["id"]]


async def test_webhooks_wait_for_an_engine_and_health_needs_no_token(
    client: httpx.AsyncClient,
) -> None:
    """`syncwell serve` has no engine: a webhook gets 503 saying where to send it; health
    and the OpenAPI document answer without a token."""
    hooked = await client.post("/hooks/crm", content=b"{}")
    assert hooked.status_code == 503 and "syncwell run" in hooked.text
    assert (await client.get("/healthz")).status_code == 200
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert {"/api/v1/flows", "/api/v1/dead-letters/{dead_letter_id}/replay"} <= set(paths)


async def test_login_sets_a_strict_cookie_that_reads_but_writes_only_with_csrf(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A wrong token gets the form back with 401; a right one sets an HttpOnly, Secure,
    SameSite=Strict cookie. The cookie reads routes, but a replay with it alone gets 403 until
    it carries the session's CSRF token; logging out clears the cookie."""
    operator = (await _tokens(workspace))["operator"]["authorization"].removeprefix("Bearer ")
    wrong = await client.post("/login", data={"token": "swt_9_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    logged = await client.post("/login", data={"token": operator})
    assert logged.status_code == 303
    cookie = logged.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Max-Age=604800"):
        assert flag.lower() in cookie.lower(), cookie
    session = {"cookie": f"{SESSION_COOKIE}={operator}"}
    assert (await client.get("/api/v1/flows", headers=session)).status_code == 200
    (letter,) = (await client.get("/api/v1/dead-letters", headers=session)).json()
    replay = f"/api/v1/dead-letters/{letter['id']}/replay"
    refused = await client.post(replay, headers=session)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    forged = await client.post(replay, headers={**session, "x-csrf-token": "0" * 32})
    assert forged.status_code == 403
    csrf = {**session, "x-csrf-token": csrf_token(operator)}
    assert (await client.post(replay, headers=csrf)).json()["status"] == "replayed"
    out = await client.post("/logout", headers=session)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
