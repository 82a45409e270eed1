"""Tokens: stored hashed, revocable, every use recorded; routes answer 401 without a live
token and 403 to a role too small, on both state stores."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI
from typer.testing import CliRunner

from syncwell.api.auth import Access
from syncwell.cli import app as cli
from syncwell.store import ROLES, Role, Store, Token
from syncwell.store.schema import tokens as tokens_table


def _app(store: Store) -> FastAPI:
    access = Access(store.tokens)
    app = FastAPI()
    for role in ROLES:

        @app.get(f"/{role}")
        async def route(token: Token = Depends(access.require(role))) -> dict[str, object]:  # noqa: B008
            return {"token": token.id}

    return app


async def _client(store: Store) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=_app(store))
    return httpx.AsyncClient(transport=transport, base_url="http://syncwell")


async def test_the_auth_matrix(state_store: Store) -> None:
    """Every route against no token, a wrong one, viewer, operator, admin: 401 without a live
    token, 403 below the route's role, 200 at or above it."""
    made = {role: await state_store.tokens.create(role, f"{role} test") for role in ROLES}
    async with await _client(state_store) as client:
        for route in ROLES:
            assert (await client.get(f"/{route}")).status_code == 401
            forged = {"authorization": "Bearer swt_1_not-the-secret"}
            assert (await client.get(f"/{route}", headers=forged)).status_code == 401
            for role, (token, text) in made.items():
                answer = await client.get(f"/{route}", headers={"authorization": f"Bearer {text}"})
                allowed = ROLES.index(role) >= ROLES.index(route)
                assert answer.status_code == (200 if allowed else 403), (route, role)
                if allowed:
                    assert answer.json() == {"token": token.id}
                else:
                    assert f"needs a {route} token" in answer.json()["detail"]


async def test_a_revoked_token_gets_401_and_every_use_is_recorded(state_store: Store) -> None:
    """A token works, is revoked, then gets 401; three attempts are recorded, the last with no
    token matched, and its last use is kept."""
    token, text = await state_store.tokens.create("operator", "ci")
    bearer = {"authorization": f"Bearer {text}"}
    async with await _client(state_store) as client:
        assert (await client.get("/viewer", headers=bearer)).status_code == 200
        assert (await client.get("/operator", headers=bearer)).status_code == 200
        assert await state_store.tokens.revoke(token.id)
        refused = await client.get("/viewer", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    uses = await state_store.tokens.uses()
    assert [(u["token_id"], u["path"], u["accepted"]) for u in uses] == [
        (None, "/viewer", False),
        (token.id, "/operator", True),
        (token.id, "/viewer", True),
    ]
    (kept,) = await state_store.tokens.list()
    assert kept.revoked_at is not None and kept.last_used_at is not None
    assert not await state_store.tokens.revoke(token.id)  # already revoked


async def test_only_a_hash_of_the_secret_is_stored(state_store: Store) -> None:
    """The stored row holds a SHA-256 of the secret, never the token's text or its secret."""
    _, text = await state_store.tokens.create("admin")
    secret = text.split("_", 2)[2]
    async with state_store.engine.connect() as connection:
        (row,) = (await connection.execute(tokens_table.select())).mappings()
    assert secret not in json.dumps({k: str(v) for k, v in row.items()})
    assert len(str(row["secret_hash"])) == 64


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_the_cli_creates_lists_and_revokes(tmp_path: Path, role: Role) -> None:
    """`syncwell token create` prints the token once; `list` never shows it; `revoke` ends
    it, and revoking again exits 1."""
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
    )
    workspace = ["-w", str(tmp_path / "syncwell.yaml")]
    runner = CliRunner()
    made = runner.invoke(
        cli, ["token", "create", "--role", role, "--name", "ci", "--json", *workspace]
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["role"] == role and created["token"].startswith("swt_")
    listed = runner.invoke(cli, ["token", "list", "--json", *workspace])
    assert created["token"] not in listed.output
    assert [t["id"] for t in json.loads(listed.output)] == [created["id"]]
    assert runner.invoke(cli, ["token", "revoke", str(created["id"]), *workspace]).exit_code == 0
    again = runner.invoke(cli, ["token", "revoke", str(created["id"]), *workspace])
    assert again.exit_code == 1
    wrong = runner.invoke(cli, ["token", "create", "--role", "root", *workspace])
    assert wrong.exit_code == 2


async def test_uses_older_than_90_days_are_pruned(state_store: Store) -> None:
    """A use recorded 91 days ago is gone after the next check; one of 89 days stays."""
    from sqlalchemy import insert

    from syncwell.store.schema import token_uses
    from syncwell.store.tokens import USES_KEPT_S

    token, text = await state_store.tokens.create("viewer", "old")
    now = time.time()
    async with state_store.engine.begin() as connection:
        await connection.execute(
            insert(token_uses),
            [
                {"token_id": token.id, "at": now - age, "method": "GET", "path": f"/{age}",
                 "accepted": True}
                for age in (USES_KEPT_S + 86400, USES_KEPT_S - 86400)
            ],
        )  # fmt: skip
    await state_store.tokens.check(text, method="GET", path="/now")
    paths = [use["path"] for use in await state_store.tokens.uses(token.id)]
    assert paths == ["/now", f"/{USES_KEPT_S - 86400}"]


@pytest.mark.parametrize("number", ["9" * 23, str(2**63), str(2**63 - 1)])
async def test_a_token_id_past_the_stores_integers_is_a_401(
    state_store: Store, number: str
) -> None:
    """An id no integer column can hold (`swt_99999999999999999999999_x`) is a wrong token:
    401 and the attempt recorded, then the next request on the connection is answered (it was
    an unauthenticated 500 from the store's overflow, on both stores)."""
    async with await _client(state_store) as client:
        forged = {"authorization": f"Bearer swt_{number}_x"}
        assert (await client.get("/viewer", headers=forged)).status_code == 401
        assert (await client.get("/viewer")).status_code == 401
    assert [use["accepted"] for use in await state_store.tokens.uses()] == [False]
