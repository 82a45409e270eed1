"""Shell snippets of the docs, run as written against a real `syncwell serve` and the sandbox.

Only what a test must change to run them here is changed: the workspace's path and the ports.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxEndpoints,
    SandboxThread,
)
from tests.docs.blocks import ELSEWHERE, ROOT, find_block
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


# The blocks run against the sandbox, in their doc's order; the first of each doc sets the
# variables (CRM, AUTH, ...) the others use, as a reader's shell keeps them.
_SANDBOX_RUNS = "test_sandbox_snippets"
# A 404 the doc expects: a record of its sample data, an id from its sample answer.
_MAY_BE_MISSING = frozenset(
    {"/v1/contacts/maria.silva@acme.io", "/v1/webhooks/subscriptions/sub_3f9a1c2b7d4e"}
)
# Every curl says what it got, on a line of its own.
_SAYS = "\\n@@ %{http_code} %{method} %{url_effective}\\n"
_VARIABLE = re.compile(r"^[A-Z]+=")
_ANSWER = re.compile(r"^@@ (\d{3}) (\S+) (\S+)$", re.MULTILINE)


@pytest.fixture
def sandbox() -> Iterator[SandboxEndpoints]:
    """The sandbox's three tools on free ports. No rate limit and no read lag: a script
    types faster than a reader, and the docs describe both apart."""
    fast = FaultSettings(rate_limit_per_s=1000)
    config = SandboxConfig(
        crm=CrmConfig(port=0, faults=fast),
        email=EmailConfig(port=0, faults=fast, visibility_delay_s=0),
        project=ProjectConfig(port=0, faults=fast),
    )
    with SandboxThread(config) as endpoints:
        yield endpoints


@pytest.mark.parametrize("doc", ["docs/sandbox.md", "docs/tutorial.md"])
def test_sandbox_snippets(doc: str, sandbox: SandboxEndpoints, tmp_path: Path) -> None:
    """Each curl of the doc's sandbox blocks, run as written against the sandbox, gets a 2xx
    (or a 404 the doc expects): its paths, methods, headers and bodies are the tools' own."""
    blocks = [find_block(d, starts) for (d, starts), test in ELSEWHERE.items()
              if d == doc and test == _SANDBOX_RUNS]  # fmt: skip
    assert len(blocks) >= 5
    blocks.sort(key=lambda b: b.line)
    ports = {"8101": sandbox.crm_port, "8102": sandbox.email_port, "8103": sandbox.project_port}
    wrapper = f"curl() {{ command curl -sS -w '{_SAYS}' \"$@\"; }}\n"
    variables = ""
    for block in blocks:
        text = re.sub(r"127\.0\.0\.1:(810[123])", lambda m: f"127.0.0.1:{ports[m[1]]}", block.text)
        done = subprocess.run(
            ["bash", "-c", wrapper + variables + text], cwd=tmp_path, capture_output=True,
            text=True, timeout=30,
        )  # fmt: skip
        # The doc's variables (CRM=...; AUTH=...), kept for the blocks after, as a shell does.
        variables += "".join(line + "\n" for line in text.splitlines() if _VARIABLE.match(line))
        answers = _ANSWER.findall(done.stdout)
        only_variables = all(_VARIABLE.match(line) for line in text.splitlines() if line)
        assert done.returncode == 0 and (answers or only_variables), (
            f"{block.where}\n{done.stdout}{done.stderr}"
        )
        for status, method, url in answers:
            path = httpx.URL(url).path
            expected = int(status) < 400 or (status == "404" and path in _MAY_BE_MISSING)
            assert expected, f"{block.where}: {method} {path} answered {status}\n{done.stdout}"
        # A reader waits out a fault before the next section; the test clears it.
        httpx.delete(f"{sandbox.crm_url}/_sandbox/faults").raise_for_status()


def _psql(sql: str) -> str:
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "test", "-tAc", sql],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _wait_for(sql: str, wanted: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while (got := _psql(sql)) != wanted:
        assert time.monotonic() < deadline, f"{sql}: {got}, not {wanted} after {within_s} s"
        time.sleep(0.5)


def test_tutorial_section_6(tmp_path: Path) -> None:
    """Tutorial section 6 as typed, on a schema of its own: the 100,000 leads arrive, the
    1,000 changed ones arrive within the interval and a bit, and Ctrl-C exits 0."""
    schema = f"docs_tour_{os.getpid()}"
    section = (ROOT / "docs" / "tutorial.md").read_text().split("## 6. ", 1)[1].split("\n## ", 1)[0]
    for was, now in (("tour.", f"{schema}."), ("EXISTS tour;", f"EXISTS {schema};"),
                     ("schema: tour}", f"schema: {schema}}}")):  # fmt: skip
        section = section.replace(was, now)
    setup, update = re.findall(r"```sh[^\n]*\n(psql .*?)```", section, re.DOTALL)
    (workspace,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    (command,) = re.findall(r"```sh\n(\.venv/bin/syncwell run .*?)\n```", section, re.DOTALL)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "tour").mkdir()
    (tmp_path / "tour" / "syncwell.yaml").write_text(workspace)
    subprocess.run(["bash", "-e", "-c", setup], cwd=tmp_path, check=True, timeout=60)
    log = tmp_path / "run.log"
    with log.open("w") as to_log:
        run = subprocess.Popen(command.split(), cwd=tmp_path, stdout=to_log, stderr=to_log)
    try:
        _wait_for(f"SELECT count(*) FROM {schema}.contacts", "100000", 60)
        subprocess.run(["bash", "-e", "-c", update], cwd=tmp_path, check=True, timeout=30)
        won = f"SELECT count(*) FROM {schema}.contacts WHERE stage = 'won'"
        _wait_for(won, "1000", 25)  # the interval is 10 s; a read takes a moment
        run.send_signal(signal.SIGINT)  # Ctrl-C
        assert run.wait(timeout=30) == 0, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        _psql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
