"""What the session and throttle tests share: a served workspace on either state store, a
client of its app from a chosen address, and logging in through the form."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp

from syncwell import load_workspace
from syncwell.api import create_app
from syncwell.api.auth import SESSION_COOKIE
from syncwell.store import Role, open_store
from syncwell.workspace import Workspace
from tests.asgi import serving
from tests.conftest import fresh_state_database

__all__ = ["app_of", "as_client", "cookie", "log_in", "make_token", "served", "session_of"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def served(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Workspace]:
    """A workspace of two SQLite systems whose state store is SQLite, then PostgreSQL."""
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            state = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            state = await stack.enter_async_context(fresh_state_database())
        (tmp_path / "syncwell.yaml").write_text(
            f"name: auth\nstate: {state}\nsystems:\n"
            "  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        )
        yield load_workspace(tmp_path / "syncwell.yaml")


async def make_token(workspace: Workspace, role: Role = "viewer") -> tuple[int, str]:
    """A new token of `role`: its id and its text."""
    store = await open_store(workspace.state)
    try:
        token, text = await store.tokens.create(role, f"a {role}")
        return token.id, text
    finally:
        await store.close()


@asynccontextmanager
async def as_client(app: ASGIApp, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` whose requests come from `address`, its lifespan run around it."""
    async with serving(app, address=address) as client:
        yield client


async def log_in(client: httpx.AsyncClient, token: str) -> str:
    """Log in through the form with `token`: the session cookie's value."""
    answer = await client.post("/login", data={"token": token})
    assert answer.status_code == 303, answer.text
    client.cookies.clear()  # each test says which cookie a request carries
    return session_of(answer)


def session_of(answer: httpx.Response) -> str:
    """The session cookie a login's answer sets."""
    value = answer.cookies.get(SESSION_COOKIE)
    assert value, answer.headers.get("set-cookie")
    return value


def app_of(workspace: Workspace) -> ASGIApp:
    """A new app serving `workspace`, as `syncwell serve` builds it."""
    return create_app(workspace=workspace)


def cookie(session: str) -> dict[str, str]:
    """Headers carrying `session` as the session cookie."""
    return {"cookie": f"{SESSION_COOKIE}={session}"}
