"""Shell snippets of the docs, run as written against a real `syncwell serve`.

Only what a test must change to run them here is changed: the workspace's path and the port.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.docs.blocks import find_block
from tests.docs.shell import console_input

_BIN = Path(sys.executable).parent
_WORKSPACE = """\
name: docs
core: app
systems:
  app: {kind: sqlite, path: app.db}
  crm: {kind: sqlite, path: crm.db}
flows:
  contacts: {source: crm, destination: app, stream: contacts, key: id, cursor: updated_at}
"""
_NO_ANALYSIS = "no analysis yet: POST /api/v1/constraint makes one"
_TABLE = "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, updated_at TEXT NOT NULL)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _syncwell(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [str(_BIN / "syncwell"), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A workspace whose one flow wrote 3 rows (`run --once`), served by `syncwell serve`:
    its file and the port."""
    folder = tmp_path_factory.mktemp("served")
    for name, rows in (("crm.db", 3), ("app.db", 0)):
        with sqlite3.connect(folder / name) as db:
            db.execute(_TABLE)
            db.executemany(
                "INSERT INTO contacts VALUES (?, ?, ?)",
                [(i, f"p{i}@example.com", f"2026-01-0{i}T00:00:00Z") for i in range(1, rows + 1)],
            )
    workspace = folder / "syncwell.yaml"
    workspace.write_text(_WORKSPACE)
    _syncwell("run", "-w", str(workspace), "--once", cwd=folder)
    port = _free_port()
    server = subprocess.Popen(
        [str(_BIN / "syncwell"), "serve", "-w", str(workspace), "--port", str(port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "syncwell serve did not answer in 30 s"
                time.sleep(0.2)
        yield workspace, port
    finally:
        server.terminate()
        server.wait(timeout=15)


def _run_snippet(text: str, workspace: Path, port: int, cwd: Path) -> str:
    """The snippet in bash, with `syncwell` on PATH, the test's workspace and port, typed in
    a folder other than the workspace's (as a reader's shell often is)."""
    script = text.replace("path/to/syncwell.yaml", str(workspace))
    script = script.replace("127.0.0.1:8100", f"127.0.0.1:{port}")
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{_BIN}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, f"{script}\n{done.stdout}{done.stderr}"
    return done.stdout


def test_metrics_snippet_under_serve(served: tuple[Path, int], tmp_path: Path) -> None:
    """docs/measurements.md's token-and-curl snippet, against `syncwell serve`, finds the
    flow's written changes: serve's /metrics reads the store (it was an empty 200)."""
    block = find_block("docs/measurements.md", "TOKEN=$(syncwell token create")
    printed = _run_snippet(block.text, *served, tmp_path)
    sample = re.search(r"^syncwell_changes_written_total\{(.*)\} (\S+)$", printed, re.M)
    assert sample is not None, printed
    assert 'flow="contacts"' in sample.group(1) and 'integration="crm"' in sample.group(1)
    assert float(sample.group(2)) == 3.0


def test_api_token_snippet_under_serve(served: tuple[Path, int], tmp_path: Path) -> None:
    """docs/api.md's console session, typed against `syncwell serve`, is let in with the token
    it made: /api/v1/constraint answers that no analysis is kept yet, not 401 (without `-w`
    the token was empty)."""
    block = find_block("docs/api.md", "$ TOKEN=$(syncwell token create")
    printed = _run_snippet(console_input(block.text), *served, tmp_path)
    assert json.loads(printed) == {"detail": _NO_ANALYSIS}, printed
