"""kill -9 between a thin event's 200 and the read that fetches its record: the re-read waits
in the state store, and the next run's first read brings the record."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import httpx

from tests.api.shapekit import rows, state, write_workspace
from tests.scenarios.crmkit import free_port
from tests.scenarios.runs import start_run
from tests.waiting import until

THIN = """
auth: {kind: header, header: X-Hook-Token, secret: crash-test-token}
ids: data.ids
streams: {"contact.*": contacts}
"""


def _rename(root: Path, old: str, new: str) -> None:
    with sqlite3.connect(root / "crm.db") as db:
        db.execute(f"ALTER TABLE {old} RENAME TO {new}")


async def test_a_thin_event_acknowledged_then_killed_is_read_after_restart(
    tmp_path: Path,
) -> None:
    """The 200 is given; the read it wakes fails (the CRM's table is away); the engine is
    killed with SIGKILL. On restart, the stored re-read brings the record into the core."""
    workspace = write_workspace(tmp_path, THIN)
    port = free_port()
    process = await start_run(workspace, port)
    try:
        # The table goes first, so no read of the running engine can have seen the record.
        _rename(tmp_path, "contacts", "contacts_away")
        with sqlite3.connect(tmp_path / "crm.db") as db:
            db.execute(
                "INSERT INTO contacts_away VALUES ('kill@example.com', 'survivor', '2026-06')"
            )
        body = json.dumps(
            {"id": "e1", "type": "contact.updated", "data": {"ids": ["kill@example.com"]}}
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answer = await client.post(
                "/hooks/crm", content=body, headers={"X-Hook-Token": "crash-test-token"}
            )
        assert answer.status_code == 200 and answer.json()["rereads"] == 1
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert state(tmp_path, "SELECT key FROM webhook_rereads") == [("kill@example.com",)]
    assert "kill@example.com" not in rows(tmp_path)
    _rename(tmp_path, "contacts_away", "contacts")
    process = await start_run(workspace, port)
    try:
        await until(lambda: "kill@example.com" in rows(tmp_path), within_s=20)
        await until(
            lambda: state(tmp_path, "SELECT count(*) FROM webhook_rereads") == [(0,)], within_s=10
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0
