"""kill -9 during webhook intake under load: every acknowledged webhook is delivered."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import httpx

from tests.api.hookkit import core_rows, event, signed, write_workspace
from tests.scenarios.crmkit import free_port
from tests.scenarios.runs import start_run
from tests.waiting import until


async def _send_until_killed(
    port: int, process: asyncio.subprocess.Process, rng: random.Random, start: int
) -> set[str]:
    """Send signed events from 32 senders; kill -9 the engine mid-stream; return the acked."""
    acked: set[str] = set()
    sent = iter(range(start, start + 100_000))

    async def sender(client: httpx.AsyncClient) -> None:
        for number in sent:
            event_id = f"evt_{number}"
            body = event(event_id, f"p{number}@example.com", number)
            try:
                answer = await client.post(
                    "/hooks/crm", content=body, headers=signed(event_id, body)
                )
            except httpx.TransportError:
                return  # the engine is gone: this one was never acknowledged
            if answer.status_code == 200:
                acked.add(event_id)

    async def killer() -> None:
        await until(lambda: len(acked) >= 200, within_s=30, every_s=0.01)  # under load
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        os.kill(process.pid, signal.SIGKILL)

    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        await asyncio.gather(killer(), *(sender(client) for _ in range(32)))
    await process.wait()
    return acked


async def test_every_acknowledged_webhook_survives_kill_9_and_is_delivered(
    tmp_path: Path,
) -> None:
    """Three kill -9s mid-load; after a clean run, the core holds every acked event's record."""
    workspace = write_workspace(tmp_path)
    port = free_port()
    rng = random.Random(11)
    acked: set[str] = set()
    for round_ in range(3):
        process = await start_run(workspace, port)
        acked |= await _send_until_killed(port, process, rng, start=round_ * 100_000)
    process = await start_run(workspace, port)
    try:
        want = {f"p{name.removeprefix('evt_')}@example.com" for name in acked}
        await until(lambda: want <= set(core_rows(tmp_path)), within_s=60)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0
    assert len(acked) >= 600
