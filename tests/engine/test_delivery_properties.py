"""Delivery invariants, by Hypothesis, through the real journal and a real SQLite destination.

The model: a key ends with the change of its highest version; a delete leaves it absent and
keeps older versions from bringing it back. Changes arrive split into journal entries at random
and out of version order (as webhooks do), so per-key order, coalescing and the version guard
are all exercised; then the whole journal is delivered a second time and must change nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncwell.connectors import sqlite
from syncwell.engine.delivery import FlowDelivery, Route
from syncwell.engine.policies import CircuitBreaker, RateLimiter
from syncwell.engine.progress import FlowProgress
from syncwell.store import open_store
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Op, StreamSpec
from syncwell.workspace import BreakerPolicy, RetryPolicy

SPEC = StreamSpec("records", ("k",), ("k", "v", "payload"), cursor="v", version="v")
COLUMNS = ("k", "v", "payload")

Change = tuple[int, int, int, Op]  # key, version, payload, op


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Change], list[int]]:
    """Changes with unique versions per key, shuffled, and where to cut them into entries."""
    changes: list[Change] = []
    for key in range(draw(st.integers(1, 6))):
        versions = draw(st.lists(st.integers(1, 50), min_size=1, max_size=6, unique=True))
        for version in versions:
            op = draw(st.sampled_from([Op.UPSERT, Op.UPSERT, Op.DELETE]))
            changes.append((key, version, draw(st.integers(0, 9)), op))
    changes = draw(st.permutations(changes))
    cuts = draw(st.lists(st.integers(1, max(1, len(changes) - 1)), max_size=5, unique=True))
    return changes, sorted(cuts)


def expected(changes: list[Change]) -> dict[int, tuple[int, int]]:
    newest: dict[int, Change] = {}
    for change in changes:
        if change[0] not in newest or change[1] > newest[change[0]][1]:
            newest[change[0]] = change
    return {k: (v, p) for k, (_, v, p, op) in newest.items() if op is Op.UPSERT}


async def deliver(folder: Path, changes: list[Change], cuts: list[int], rounds: int) -> None:
    store = await open_store(f"sqlite:///{folder}/state.db")
    destination = await sqlite.open_destination(
        "dest", sqlite.Settings(kind="sqlite", path=str(folder / "dest.db"))
    )
    clock = FakeClock()
    route = Route(
        flow="records",
        source=SPEC,
        destination=SPEC,
        renames={},
        writer=destination,
        limiter=RateLimiter(None, clock),
        breaker=CircuitBreaker(BreakerPolicy(), clock),
        retry=RetryPolicy(),
    )
    delivery = FlowDelivery(route, store.journal, FlowProgress("records", 0.0), clock)
    bounds = [0, *cuts, len(changes)]
    try:
        for _ in range(rounds):
            for start, end in pairwise(bounds):
                part = changes[start:end]
                rows = [(k, v, p) for k, v, p, _ in part]
                batch = ChangeBatch(COLUMNS, rows, [op for *_, op in part])
                await store.journal.append("records", batch, None)
            while await delivery.deliver_next():
                pass
    finally:
        await destination.aclose()
        await store.close()


def table(folder: Path) -> dict[int, tuple[int, int]]:
    with sqlite3.connect(folder / "dest.db") as connection:
        return {k: (v, p) for k, v, p in connection.execute("SELECT k, v, payload FROM records")}


def fresh_destination(folder: Path) -> None:
    with sqlite3.connect(folder / "dest.db") as connection:
        connection.execute("CREATE TABLE records (k INTEGER PRIMARY KEY, v INTEGER, payload INT)")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_the_newest_version_of_each_key_wins_and_replaying_changes_nothing(
    history: tuple[list[Change], list[int]],
) -> None:
    """Whatever the arrival order and batching, the newest version wins; a replay is a no-op."""
    changes, cuts = history
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        fresh_destination(folder)
        asyncio.run(deliver(folder, changes, cuts, rounds=1))
        once = table(folder)
        assert once == expected(changes)
        asyncio.run(deliver(folder, changes, cuts, rounds=2))
        assert table(folder) == once


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9)), min_size=1, max_size=30))
def test_in_source_order_the_last_change_of_a_key_wins(updates: list[tuple[int, int]]) -> None:
    """With versions rising in source order, each key ends with its last change (per-key order)."""
    changes = [(k, version, p, Op.UPSERT) for version, (k, p) in enumerate(updates, start=1)]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        fresh_destination(folder)
        asyncio.run(deliver(folder, changes, [len(changes) // 2] if len(changes) > 1 else [], 1))
        last = {k: (v, p) for k, v, p, _ in changes}
        assert table(folder) == last
