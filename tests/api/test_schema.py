"""schemathesis against the OpenAPI document, over real HTTP: whatever the generated
requests, no route answers with a server error, and every answer is one the document
describes: its status code, its content type, its headers and its body's schema."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from syncwell import Engine, load_workspace
from syncwell.api import ApiServer, create_app
from syncwell.store import open_store


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """syncwell serve's app on a loopback port, over a workspace a real run left a dead letter
    in; its URL and an operator token."""
    root = tmp_path_factory.mktemp("schema")
    with sqlite3.connect(root / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)", [(1, "2026-01-01", "ok"), (2, "2026-01-02", "bad")]
        )
    with sqlite3.connect(root / "b.db") as db:
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT CHECK (v != 'bad'))"
        )
    (root / "syncwell.yaml").write_text(
        "core: a\nsystems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at}\n"
    )
    workspace = load_workspace(root / "syncwell.yaml")

    async def prepare() -> str:
        await Engine(workspace).run(once=True)
        store = await open_store(workspace.state)
        try:
            return (await store.tokens.create("operator", "schemathesis"))[1]
        finally:
            await store.close()

    token = asyncio.run(prepare())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    server = ApiServer(create_app(workspace=workspace), port=port)
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(stop),))
    thread.start()
    try:
        _wait_for(port)
        yield f"http://127.0.0.1:{port}", token
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_every_answer_is_documented_and_none_is_a_server_error(api: tuple[str, str]) -> None:
    """For every operation of the OpenAPI document, 20 generated requests with an operator
    token: none answers a 5xx, and each answer's status code, content type, headers and body
    are ones the document declares for that operation."""
    base, token = api
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    headers = {"authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=int(os.environ.get("SYNCWELL_SCHEMA_EXAMPLES", "20")),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)

        no_server_error()


def _wait_for(port: int, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
