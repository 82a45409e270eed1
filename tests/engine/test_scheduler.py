"""The scheduler reads poll flows on their interval, on the engine's clock."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from syncwell.engine import Engine
from syncwell.testing import FakeClock
from syncwell.workspace import load_workspace

WORKSPACE = """
systems:
  crm: {kind: sqlite, path: crm.db}
  app: {kind: sqlite, path: app.db}
flows:
  contacts:
    source: crm
    destination: app
    stream: contacts
    key: id
    cursor: updated_at
    interval: 30s
"""


def _databases(folder: Path) -> None:
    for name in ("crm", "app"):
        with sqlite3.connect(folder / f"{name}.db") as connection:
            connection.execute(
                "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, updated_at TEXT)"
            )
    with sqlite3.connect(folder / "crm.db") as connection:
        connection.execute("INSERT INTO contacts VALUES (1, 'a@x.com', '2026-01-01T00:00:00')")


async def test_poll_flows_are_read_every_interval_and_pick_up_new_rows(tmp_path: Path) -> None:
    """Between reads the scheduler sleeps the flow's interval; a new row arrives on a later poll."""
    _databases(tmp_path)
    (tmp_path / "syncwell.yaml").write_text(WORKSPACE)
    clock = FakeClock()
    engine = Engine(load_workspace(tmp_path / "syncwell.yaml"), clock=clock)
    stop = asyncio.Event()
    running = asyncio.create_task(engine.run(stop=stop))
    progress = engine.progress["contacts"]
    for _ in range(200):
        await asyncio.sleep(0.02)
        if progress.reads >= 3:
            break
    with sqlite3.connect(tmp_path / "crm.db") as connection:
        connection.execute("INSERT INTO contacts VALUES (2, 'b@x.com', '2026-01-01T00:00:01')")
    for _ in range(300):
        await asyncio.sleep(0.02)
        with sqlite3.connect(tmp_path / "app.db") as connection:
            if connection.execute("SELECT count(*) FROM contacts").fetchone()[0] == 2:
                break
    stop.set()
    await asyncio.wait_for(running, timeout=20)
    assert progress.reads >= 3
    interval_sleeps = [s for s in clock.sleeps if s == 30.0]
    assert len(interval_sleeps) >= progress.reads - 1, "one interval between consecutive reads"
    with sqlite3.connect(tmp_path / "app.db") as connection:
        assert connection.execute("SELECT id FROM contacts ORDER BY id").fetchall() == [(1,), (2,)]
