"""A real uvicorn server on loopback running the test API, and helpers to talk to it."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from syncwell.connectors.http import HttpDestination, HttpSource, open_destination, open_source
from syncwell.connectors.http.settings import Settings
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Checkpoint, StreamSpec
from tests.connectors.http.api import STATE, ApiState, app


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The test API's root URL; one server for the whole session."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test API did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def api(server_url: str) -> ApiState:
    """The test API's state, emptied for this test."""
    STATE.reset()
    return STATE


@dataclass
class RecordingBudget:
    """A `RequestBudget` that lets every request go and records what it was told."""

    acquired: int = 0
    pauses: list[float] = field(default_factory=list)
    learned: list[tuple[Any, ...]] = field(default_factory=list)

    async def acquire(self, cost: int = 1) -> None:
        self.acquired += cost

    def pause_for(self, seconds: float) -> None:
        self.pauses.append(seconds)

    def learn(
        self,
        limit: int | None,
        remaining: int | None,
        reset_after_s: float | None,
        *,
        window_s: float | None = None,
    ) -> None:
        self.learned.append((limit, remaining, reset_after_s, window_s))


@pytest.fixture
def budget() -> RecordingBudget:
    """A budget that records every request spent and everything learned."""
    return RecordingBudget()


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock whose wall time is now (HTTP dates in headers are real times)."""
    return FakeClock(wall_start=time.time())


def http_settings(base_url: str, **fields: Any) -> Settings:
    """A ``kind: http`` system's settings, validated as the workspace loader would."""
    return Settings.model_validate({"kind": "http", "base_url": base_url, **fields})


def spec(name: str = "contacts", **fields: Any) -> StreamSpec:
    """A stream keyed by ``id`` with cursor ``updatedAt``, unless told otherwise."""
    defaults: dict[str, Any] = {"key": ("id",), "cursor": "updatedAt", "batch_size": 100}
    return StreamSpec(name=name, **{**defaults, **fields})


@pytest.fixture
async def source_for(budget: RecordingBudget, clock: FakeClock) -> AsyncIterator[Any]:
    """Opens sources over the test API (closed after the test)."""
    opened: list[HttpSource] = []

    async def open_(settings: Settings) -> HttpSource:
        source = await open_source("crm", settings, budget=budget, clock=clock)
        opened.append(source)
        return source

    yield open_
    for source in opened:
        await source.aclose()


@pytest.fixture
async def destination_for(budget: RecordingBudget, clock: FakeClock) -> AsyncIterator[Any]:
    """Opens destinations over the test API (closed after the test)."""
    opened: list[HttpDestination] = []

    async def open_(settings: Settings) -> HttpDestination:
        destination = await open_destination("crm", settings, budget=budget, clock=clock)
        opened.append(destination)
        return destination

    yield open_
    for destination in opened:
        await destination.aclose()


async def read_all(
    source: HttpSource, stream: StreamSpec, checkpoint: Checkpoint | None = None
) -> list[tuple[ChangeBatch, Checkpoint]]:
    """Every (batch, checkpoint) one read yields."""
    return [pair async for pair in source.read(stream, checkpoint)]


def ids(pairs: list[tuple[ChangeBatch, Checkpoint]]) -> list[str]:
    """The ``id`` of every row read, in order."""
    out = []
    for batch, _ in pairs:
        at = batch.columns.index("id")
        out.extend(str(row[at]) for row in batch.rows)
    return out
