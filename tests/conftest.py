"""Fixtures shared by every test: a real PostgreSQL schema per test, workspace files."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from syncwell.store import Store, open_store

pytest_plugins = ["tests.webhook_receiver"]

PG_DSN = os.environ.get("SYNCWELL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    """A fresh schema in the machine's PostgreSQL, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(PG_DSN)
    await connection.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        await connection.execute(f"DROP SCHEMA {name} CASCADE")
        await connection.close()


@pytest.fixture
async def pg() -> AsyncIterator[asyncpg.Connection]:
    """A connection to the test database."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        yield connection
    finally:
        await connection.close()


@asynccontextmanager
async def fresh_state_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for syncwell's own state (its URL), dropped after."""
    name = f"sw_state_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def pg_state_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for syncwell's own state, dropped after the test."""
    async with fresh_state_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def state_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A new state store, once on SQLite and once on PostgreSQL."""
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'state.db'}"
        else:
            url = await stack.enter_async_context(fresh_state_database())
        opened = await open_store(url)
        stack.push_async_callback(opened.close)
        yield opened
