"""`run --once` against an API that never takes the writes: it ends, exit 1, saying why."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from syncwell.store import open_store
from syncwell.workspace import load_workspace
from tests.connectors.http.api import ApiState, Fault
from tests.scenarios.runs import SYNCWELL

# Fast retries and a breaker that probes after 0.2 s: before the fix its probes doubled up to
# 300 s apart, and `run --once` went on for hours.
WORKSPACE = """
systems:
  app: {{kind: sqlite, path: app.db}}
  crm:
    kind: http
    base_url: {url}
    retry: {{base_s: 0.01, cap_s: 0.02}}
    breaker: {{open_s: 0.2}}
    streams:
      members:
        write:
          upsert: {{method: POST, path: /api/lists/L1/members:batch,
                   body: {{members: "{{{{records}}}}"}}}}
flows:
  members_out: {{source: app, destination: crm, stream: subscribers, target: members,
                key: email, cursor: version}}
"""


def _workspace(root: Path, url: str) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE subscribers (email TEXT NOT NULL PRIMARY KEY, version INT)")
        db.executemany(
            "INSERT INTO subscribers VALUES (?, ?)", [(f"u{i}@x.org", i) for i in range(4)]
        )
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=url))
    return path


def _run_once(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYNCWELL, "run", "--once", "-w", str(path)],
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails the test here
        check=False,
    )


@pytest.mark.parametrize(
    ("status", "says", "fix"),
    [
        (503, "answered 503 Service Unavailable", "Check that crm is up and answers"),
        (404, "answered 404 Not Found", "Run again once that is fixed"),
    ],
)
async def test_an_api_that_refuses_every_write_ends_run_once_with_exit_1(
    api: ApiState, server_url: str, tmp_path: Path, status: int, says: str, fix: str
) -> None:
    """An API answering 503 forever (or 404 on its collection) ends `run --once` with exit 1 and
    one line with the reason and the fix; no traceback, and the changes wait in the journal."""
    api.faults.append(Fault(path="/api/lists", status=status, times=10**9))
    path = _workspace(tmp_path, server_url)

    result = await asyncio.to_thread(_run_once, path)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("flow ")]
    assert line.startswith("flow members_out: cannot write to crm")
    assert f"POST /api/lists/L1/members:batch {says}" in line and fix in line
    assert api.upserted == [] and len(api.seen("/api/lists")) >= 6
    store = await open_store(load_workspace(path).state)
    try:
        waiting = (await store.journal.backlog())["members_out"][1]
    finally:
        await store.close()
    assert waiting >= 4
    assert re.search(rf"\. {waiting} changes wait in the journal\.$", line), line
