"""`syncwell dev` runs a NATS server with JetStream from the wheel beside syncwell: the
transport works against it, and SIGTERM stops it (no server left behind)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch
from tests.scenarios.crmkit import free_port

_SYNCWELL = Path(sys.executable).parent / "syncwell"


async def test_a_transport_works_against_the_dev_server(tmp_path: Path) -> None:
    """Publish and receive a batch through `syncwell dev`'s server; SIGTERM ends it."""
    port = free_port()
    args = [str(_SYNCWELL), "dev", "--port", str(port), "--folder", str(tmp_path / "nats")]
    server = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    try:
        settings = JetStreamSettings(url=f"nats://127.0.0.1:{port}", workspace="dev", partitions=1)
        for _ in range(50):  # the server starts in well under a second
            try:
                transport = await JetStreamTransport.connect(settings, {"f": ("id",)})
                break
            except Exception:
                await asyncio.sleep(0.1)
        await transport.publish("f", ChangeBatch(("id",), [(1,)]), "c1")
        received = await transport.receive("f", 0, wait_s=2)
        assert received is not None and list(received.batch.rows) == [(1,)]
        await received.ack()
        await transport.close()
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=10)  # it stops, and its pipe is closed
    assert b"transport: {url: nats://127.0.0.1:" in output
