"""POST /hooks/{system}: signed events are journaled once and delivered; bad ones get a 4xx."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sqlite3
from pathlib import Path

import httpx

from tests.api.hookkit import core_rows, event, running_engine, signed
from tests.waiting import until


def _journal_and_ids(root: Path) -> tuple[int, int]:
    with sqlite3.connect(root / ".syncwell" / "state.db") as db:
        journal = db.execute("SELECT count(*) FROM journal").fetchone()[0]
        ids = db.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
    return journal, ids


async def test_an_event_signed_by_the_standardwebhooks_package_is_delivered(
    tmp_path: Path,
) -> None:
    """The reference signer's request is accepted (200) and its record reaches the core."""
    async with running_engine(tmp_path) as run:
        answer = await run.send("evt_1", event("evt_1", "ada@example.com", 1))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "accepted", "id": "evt_1", "changes": 1}
        await run.settled(1)
    assert core_rows(tmp_path)["ada@example.com"][0] == "v1"


async def test_refused_requests_get_a_4xx_with_the_reason_and_reach_nothing(
    tmp_path: Path,
) -> None:
    """Forged, expired, future-dated, malformed, oversized and unreadable requests: 4xx."""
    body = event("evt_bad", "eve@example.com", 1)
    now = dt.datetime.now(dt.UTC)
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo="
    cases = {
        "forged": (body, signed("evt_bad", body, secret=other), 401),
        "tampered": (body.replace(b"v1", b"v9"), signed("evt_bad", body), 401),
        "expired": (body, signed("evt_bad", body, at=now - dt.timedelta(hours=1)), 401),
        "future": (body, signed("evt_bad", body, at=now + dt.timedelta(hours=1)), 401),
        "no signature": (body, {"webhook-id": "e", "webhook-timestamp": "1"}, 401),
        "bad timestamp": (body, {**signed("evt_bad", body), "webhook-timestamp": "12a"}, 400),
        "oversized": (b"x" * (1024 * 1024 + 1), signed("evt_bad", b"x"), 413),
        "not json": (b"{nope", signed("evt_bad", b"{nope"), 400),
        "no key": (
            b'{"id": "e", "type": "contact.updated", "data": {"name": "x"}}',
            signed("evt_bad", b'{"id": "e", "type": "contact.updated", "data": {"name": "x"}}'),
            400,
        ),
    }
    async with running_engine(tmp_path) as run:
        for name, (content, headers, status) in cases.items():
            answer = await run.post(content, headers)
            assert answer.status_code == status, (name, answer.text)
            assert answer.json()["error"], name  # the reason, for the sender's logs
        unknown = await run.client.post("/hooks/nobody", content=body, headers=signed("e", body))
        assert unknown.status_code == 404
        assert "webhooks:" in unknown.json()["error"]
    assert _journal_and_ids(tmp_path) == (0, 0)
    assert core_rows(tmp_path) == {}


async def test_events_of_streams_no_flow_reads_are_acknowledged_and_ignored(
    tmp_path: Path,
) -> None:
    """An event type outside `streams` gets a 202 `ignored`: senders send every type."""
    body = b'{"id": "evt_i", "type": "invoice.paid", "data": {}}'
    async with running_engine(tmp_path) as run:
        answer = await run.send("evt_i", body)
    assert answer.status_code == 202 and answer.json()["status"] == "ignored"


async def test_duplicate_and_out_of_order_deliveries_have_one_effect_and_newest_wins(
    tmp_path: Path,
) -> None:
    """1,000 deliveries of 250 events (each 4 times, shuffled): 250 accepted, newest wins."""
    rng = random.Random(7)
    events = [
        (f"evt_{key}_{version}", f"p{key}@example.com", version)
        for key in range(50)
        for version in range(1, 6)
    ]
    deliveries = events * 4
    rng.shuffle(deliveries)
    senders = asyncio.Semaphore(64)  # a sender's connection pool, not 1,000 sockets

    async def deliver(event_id: str, email: str, version: int) -> httpx.Response:
        async with senders:
            return await run.send(event_id, event(event_id, email, version))

    async with running_engine(tmp_path) as run:
        answers = await asyncio.gather(*(deliver(*delivery) for delivery in deliveries))
        statuses = [answer.json()["status"] for answer in answers]
        assert statuses.count("accepted") == len(events)
        assert statuses.count("duplicate") == len(deliveries) - len(events)
        await run.settled(50)
        assert run.engine.progress["contacts"].hooked == len(events)
        await until(lambda: {r[0] for r in core_rows(tmp_path).values()} == {"v5"}, within_s=20)
    assert _journal_and_ids(tmp_path) == (0, len(events))


async def test_a_delete_event_deletes_the_record(tmp_path: Path) -> None:
    """`contact.deleted` (a default delete pattern) removes the record from the core."""
    async with running_engine(tmp_path) as run:
        await run.send("evt_a", event("evt_a", "gone@example.com", 1))
        await run.settled(1)
        deleted = event("evt_b", "gone@example.com", 2, kind="contact.deleted")
        assert (await run.send("evt_b", deleted)).status_code == 200
        await until(lambda: not core_rows(tmp_path), within_s=10)


async def test_a_delete_event_naming_only_the_key_deletes_the_record(tmp_path: Path) -> None:
    """The CRM's delete events carry the key alone (no version): the record still goes."""
    async with running_engine(tmp_path) as run:
        await run.send("evt_c", event("evt_c", "bare@example.com", 1))
        await run.settled(1)
        body = b'{"id": "evt_d", "type": "contact.deleted", "data": {"email": "bare@example.com"}}'
        assert (await run.send("evt_d", body)).status_code == 200
        await until(lambda: not core_rows(tmp_path), within_s=10)


async def test_bodies_syncwell_could_not_keep_are_refused_with_400(tmp_path: Path) -> None:
    """NaN, a lone surrogate, nesting past the parser, an object as key: 400, nothing kept."""
    deep = b'{"id": "x", "type": "contact.updated", "data": ' + b"[" * 100_000 + b"]" * 100_000
    bodies = {
        "nan": b'{"id": "n", "type": "contact.updated", "data": {"email": "a@b.c", "v": NaN}}',
        "surrogate": b'{"id": "s", "type": "contact.updated", "data": {"email": "\\ud800"}}',
        "deep": deep + b"}",
        "object key": b'{"id": "o", "type": "contact.updated", "data": {"email": {"a": 1}}}',
    }
    async with running_engine(tmp_path) as run:
        for name, body in bodies.items():
            answer = await run.send(f"evt_{name}", body)
            assert answer.status_code == 400, (name, answer.text)
    assert _journal_and_ids(tmp_path) == (0, 0)


async def test_a_one_off_run_of_a_workspace_with_webhooks_ends(tmp_path: Path) -> None:
    """`run --once` reconciles and returns; it does not wait for webhooks forever."""
    from syncwell import Engine, load_workspace
    from tests.api.hookkit import write_workspace

    engine = Engine(load_workspace(write_workspace(tmp_path)))
    async with asyncio.timeout(20):
        await engine.run(once=True)
