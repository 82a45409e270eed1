"""The reader of a distributed run judges incidents from what its workers measured and what
waits in the stream: against the machine's NATS server and a real state store."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from syncwell import load_workspace
from syncwell.engine.observer import Observer
from syncwell.engine.policies import CircuitBreaker, RateLimiter
from syncwell.engine.progress import FlowProgress
from syncwell.engine.workers import WorkersView
from syncwell.measure import FlowMinute
from syncwell.store import open_store
from syncwell.testing import FakeClock
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch
from syncwell.workspace import BreakerPolicy
from tests.api.dashkit import write_workspace


async def test_the_reader_opens_incidents_from_the_workers_measurements(tmp_path: Path) -> None:
    """Workers measured an open breaker and half their attempts failing, and a change has
    waited in the stream for an hour: the reader sees all three, and opens the breaker and
    success-rate incidents of the flow (freshness waits its 5 minutes)."""
    workspace = load_workspace(write_workspace(tmp_path))
    flows = [workspace.flows["rows"]]
    store = await open_store(workspace.state)
    settings = JetStreamSettings(workspace=f"judge-{uuid.uuid4().hex[:10]}", partitions=2)
    transport = await JetStreamTransport.connect(settings, {"rows": ("id",)})
    try:
        now = time.time()
        minute = int(now // 60 * 60)
        measured = FlowMinute("rows", minute, measured_s=10, attempts=20, retries_transient=10,
                              breaker_open_s=4.0)  # fmt: skip
        await store.measurements.add([measured.as_row()])
        seen_at = now - 3600
        await transport.publish("rows", ChangeBatch(("id",), [(1,)], observed_at=seen_at), "c1")
        view = WorkersView(transport, flows)
        await view.refresh(store, now)
        assert view.breaker_open("rows") and view.success_rate("rows") == 0.5
        assert view.oldest_waiting("rows") == seen_at
        clock = FakeClock(wall_start=now)
        systems = ("core", "warehouse")
        breakers = {name: CircuitBreaker(BreakerPolicy(), clock) for name in systems}
        limiters = {name: RateLimiter(None, clock) for name in systems}
        progress = {"rows": FlowProgress("rows", now)}
        observer = Observer(flows, progress, clock, breakers, limiters)
        observer.workers = view
        await observer.flush(store)
        opened = {i.cause for i in await store.incidents.list(open_only=True)}
        assert opened == {"breaker_open", "success_rate"}
    finally:
        await transport.delete_stream()
        await transport.close()
        await store.close()
