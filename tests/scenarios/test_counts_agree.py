"""Five places count what a run did, and they agree: `run`'s summary, `status`, the store's
`deliveries` and dead letters, `/metrics`, and the dashboard (issue 12, point 7).

The core (SQLite) sends 400 records to each of two streams of a tool on loopback: one written
in bulk (a refused record fails its whole chunk, so the engine halves the batch to find it),
one a request per record. The tool refuses every record whose id divides by 20 (5%) for good,
and answers 503 to every ninth request, so writes are retried. A first sync reads the
look-back window again after its full read, so the newest record, refused, is refused twice;
later a late commit makes the window be read again. Each refused record stays one dead letter.
At last the tool is fixed and the dead letters replayed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner, Result

import syncwell.cli.running
from syncwell.api import create_app
from syncwell.api.login import SESSION_COOKIE
from syncwell.cli import app
from syncwell.engine import Engine
from tests.asgi import serving

runner = CliRunner()

FLOWS = ("items_out", "things_out")
RECORDS = 400
REFUSED = RECORDS // 20
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

WORKSPACE = """
name: counts
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  tool:
    kind: http
    base_url: {url}
    retry: {{base_s: 0.01, cap_s: 0.05, max_attempts: 6}}
    streams:
      items:
        write:
          upsert:
            method: POST
            path: /items
            body: {{items: "{{{{records}}}}"}}
            max_batch: 25
      things:
        write:
          upsert: {{method: PUT, path: "/things/{{id}}"}}
flows:
  items_out: {{source: core, destination: tool, stream: items, key: id, cursor: updated_at,
              batch_size: 100}}
  things_out: {{source: core, destination: tool, stream: things, key: id, cursor: updated_at,
               batch_size: 100}}
"""


@dataclass
class Tool:
    """An external tool that refuses ids divisible by 20 and answers 503 every ninth time."""

    refusing: bool = True
    requests: int = 0
    flaky: int = 0
    refused_chunks: int = 0
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _turn(self) -> bool:
        """Count a request; whether it is one the tool drops with a 503."""
        with self.lock:
            self.requests += 1
            if self.requests % 9 == 0:
                self.flaky += 1
                return True
        return False

    def _refuses(self, record: dict[str, Any]) -> bool:
        return self.refusing and int(record["id"]) % 20 == 0

    async def items(self, request: Request) -> JSONResponse:
        if self._turn():
            return JSONResponse({"message": "busy"}, status_code=503)
        records = (await request.json())["items"]
        if any(self._refuses(record) for record in records):  # all or nothing, unnamed
            self.refused_chunks += len(records) > 1
            return JSONResponse({"message": "a record has a forbidden id"}, status_code=422)
        for record in records:
            self.stored[f"items/{record['id']}"] = record
        return JSONResponse({"ok": len(records)})

    async def thing(self, request: Request) -> JSONResponse:
        if self._turn():
            return JSONResponse({"message": "busy"}, status_code=503)
        record = await request.json()
        if self._refuses(record):
            return JSONResponse({"message": "forbidden id"}, status_code=422)
        self.stored[f"things/{request.path_params['id']}"] = record
        return JSONResponse(record)


@pytest.fixture
def tool() -> Iterator[tuple[Tool, str]]:
    """The tool, served by uvicorn on loopback: its state and its URL."""
    state = Tool()
    routes = [
        Route("/items", state.items, methods=["POST"]),
        Route("/things/{id}", state.thing, methods=["PUT"]),
    ]
    config = uvicorn.Config(
        Starlette(routes=routes), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the tool did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield state, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _at(minutes: float) -> str:
    return (BASE + dt.timedelta(minutes=minutes)).isoformat()


def _core(root: Path, url: str) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        for table in ("items", "things"):
            db.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT, updated_at TEXT)")
            db.executemany(
                f"INSERT INTO {table} VALUES (?, ?, ?)",
                [(i, f"n{i}", _at(10 * i)) for i in range(1, RECORDS + 1)],
            )
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=url))
    return path


def _cli(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@dataclass(frozen=True)
class Counts:
    """Written and dead-lettered changes per flow, as one place tells them."""

    written: dict[str, int]
    dead: dict[str, int]


def _run_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Counts, Engine, str]:
    """`syncwell run --once --json`: its summary, the engine it ran (for /metrics), its log."""
    made: list[Engine] = []

    class Kept(Engine):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(syncwell.cli.running, "Engine", Kept)
    result = _cli("run", "--once", "--json", "-w", str(workspace))
    summary = {flow["flow"]: flow for flow in json.loads(result.stdout)}
    counts = Counts(
        written={name: summary[name]["written"] for name in FLOWS},
        dead={name: summary[name]["dead_lettered"] for name in FLOWS},
    )
    return counts, made[0], result.stderr


def _deliveries(root: Path) -> Counts:
    """The sums of the store's `deliveries` table."""
    with sqlite3.connect(root / ".syncwell" / "state.db") as db:
        rows = db.execute(
            "SELECT flow, sum(written), sum(dead_lettered) FROM deliveries GROUP BY flow"
        ).fetchall()
    return Counts({f: w for f, w, _ in rows}, {f: d for f, _, d in rows})


def _dead_letters(workspace: Path, status: str) -> dict[str, list[str]]:
    """`dlq list --json`: the keys of the dead letters of `status`, per flow, sorted."""
    listed = _cli(
        "dlq", "list", "--status", status, "--limit", "1000", "--json", "-w", str(workspace)
    )
    found: dict[str, list[str]] = {name: [] for name in FLOWS}
    for letter in json.loads(listed.stdout):
        found[letter["flow"]].append(letter["key"])
    return {name: sorted(keys, key=int) for name, keys in found.items()}


def _status(workspace: Path) -> dict[str, dict[str, Any]]:
    reports = json.loads(_cli("status", "--json", "-w", str(workspace)).stdout)
    return {report["flow"]: report for report in reports}


@dataclass(frozen=True)
class Served:
    """What the HTTP API answers: /metrics (value by name and flow), /api/v1/flows, and the
    dashboard's pages of the tool and of replayed dead letters."""

    metrics: dict[str, dict[str, float]]
    flows: dict[str, dict[str, Any]]
    page: str
    replayed: str


async def _served(engine: Engine, token: str) -> Served:
    bearer = {"authorization": f"Bearer {token}"}
    async with serving(create_app(engine)) as client:
        logged = await client.post("/login", data={"token": token})
        client.cookies.clear()  # the pages below carry the session explicitly
        cookie = {"cookie": f"{SESSION_COOKIE}={logged.cookies[SESSION_COOKIE]}"}
        answers = [
            await client.get("/metrics", headers=bearer),
            await client.get("/api/v1/flows", headers=bearer),
            await client.get("/integrations/tool", headers=cookie),
            await client.get("/dead-letters?status=replayed", headers=cookie),
        ]
    assert [answer.status_code for answer in answers] == [200] * 4
    metrics: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(answers[0].text):
        for sample in family.samples:
            wanted = "flow" in sample.labels and "class" not in sample.labels
            if wanted and not sample.name.endswith("_created"):
                metrics.setdefault(sample.name, {})[sample.labels["flow"]] = sample.value
    flows = {flow["flow"]: flow for flow in answers[1].json()}
    return Served(metrics, flows, answers[2].text, answers[3].text)


def _dashboard_rows(page: str) -> dict[str, tuple[int, int]]:
    """Per flow, the Written and Dead letters cells of the integration page's table."""
    rows = {}
    for flow in FLOWS:
        row = re.search(rf"<strong>{flow}</strong></td>(.*?)</tr>", page, re.S)
        assert row is not None, f"{flow} is not on the page"
        cells = re.findall(r'<td class="num">(?:<a [^>]*>)?(\d+)', row.group(1))
        _backlog, written, _retries, dead = map(int, cells)
        rows[flow] = (written, dead)
    return rows


def _per_flow(value: object) -> dict[str, object]:
    return dict.fromkeys(FLOWS, value)


@pytest.mark.timeout(120)
def test_summary_status_deliveries_dead_letters_metrics_and_dashboard_agree(
    tool: tuple[Tool, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 5% of records refused for good and every ninth request a 503, each record is
    written once or is one dead letter, and all five places give the same numbers; after a
    look-back re-read and after a replay too."""
    state, url = tool
    workspace = _core(tmp_path, url)
    created = _cli("token", "create", "--role", "viewer", "--json", "-w", str(workspace))
    token = json.loads(created.stdout)["token"]
    refused = [str(i) for i in range(20, RECORDS + 1, 20)]

    # 1. The first run: 380 written and 20 dead letters per flow, through retries and splits;
    # its look-back read after the full read refuses record 400 a second time.
    first, engine, log = _run_once(workspace, monkeypatch)
    assert state.flaky > 0, "the tool must really have failed some requests"
    assert state.refused_chunks > 0, "and refused whole chunks, so batches were split"
    assert first == Counts(_per_flow(RECORDS - REFUSED), _per_flow(REFUSED)), "run summary"
    assert _dead_letters(workspace, "open") == _per_flow(refused), "dlq list: each once"
    assert log.count("dead-lettered") == 2 * REFUSED, "the log names each dead letter once"
    _agree(workspace, engine, token, [first], open_letters=REFUSED)

    # 2. A late commit lands in the look-back window: the window is read again, and its
    # refused record (400) is refused again: still one dead letter, and none logged.
    with sqlite3.connect(tmp_path / "core.db") as db:
        for table in ("items", "things"):
            late = (RECORDS + 1, _at(10 * RECORDS - 2))
            db.execute(f"INSERT INTO {table} VALUES (?, 'late', ?)", late)
    second, engine, log = _run_once(workspace, monkeypatch)
    assert second == Counts(_per_flow(1), _per_flow(0))
    assert log.count("dead-lettered") == 0
    assert _dead_letters(workspace, "all") == _per_flow(refused)
    _agree(workspace, engine, token, [first, second], open_letters=REFUSED)

    # 3. The tool is fixed and the dead letters replayed: each is written once, and resolved.
    state.refusing = False
    listed = json.loads(
        _cli("dlq", "list", "--limit", "1000", "--json", "-w", str(workspace)).stdout
    )
    _cli("dlq", "replay", *(str(letter["id"]) for letter in listed), "-w", str(workspace))
    third, engine, _ = _run_once(workspace, monkeypatch)
    assert third == Counts(_per_flow(REFUSED), _per_flow(0))
    assert _dead_letters(workspace, "replayed") == _per_flow(refused)
    served = _agree(workspace, engine, token, [first, second, third], open_letters=0)
    assert served.replayed.count('data-outcome="delivered"') == len(FLOWS) * REFUSED
    assert _deliveries(tmp_path).written == _per_flow(RECORDS + 1), "each record written once"
    assert len(state.stored) == len(FLOWS) * (RECORDS + 1), "and every one arrived"


def _agree(
    workspace: Path, engine: Engine, token: str, runs: list[Counts], *, open_letters: int
) -> Served:
    """The store's `deliveries` add up the runs' summaries and count each dead letter that
    `dlq list` shows once; `status`, the API and the dashboard tell the store's totals;
    /metrics tells the last run's, as its summary does."""
    stored, run = _deliveries(workspace.parent), runs[-1]
    assert stored == Counts(
        {name: sum(r.written[name] for r in runs) for name in FLOWS},
        {name: sum(r.dead[name] for r in runs) for name in FLOWS},
    ), "the deliveries table adds up the runs' summaries"
    made = {name: len(keys) for name, keys in _dead_letters(workspace, "all").items()}
    assert stored.dead == made, "the deliveries table counts each dead letter the store keeps"
    status = _status(workspace)
    assert {name: status[name]["written"] for name in FLOWS} == stored.written, "status"
    assert {name: status[name]["dead_lettered"] for name in FLOWS} == made, "status"
    assert {name: status[name]["dead_letters"] for name in FLOWS} == _per_flow(open_letters)
    served = asyncio.run(_served(engine, token))
    metrics = served.metrics
    assert metrics["syncwell_changes_written_total"] == run.written, "/metrics written"
    delivered = metrics.get("syncwell_changes_delivered_total", run.written)
    assert delivered == run.written, "/metrics: a change is delivered once it is written"
    assert metrics["syncwell_dead_letters_total"] == run.dead, "/metrics dead letters"
    assert metrics["syncwell_dead_letters_open"] == _per_flow(open_letters)
    api = {name: served.flows[name] for name in FLOWS}
    assert {name: api[name]["written"] for name in FLOWS} == stored.written, "/api/v1/flows"
    assert {name: api[name]["dead_lettered"] for name in FLOWS} == made, "/api/v1/flows"
    assert {name: api[name]["dead_letters"] for name in FLOWS} == _per_flow(open_letters)
    shown = {name: (stored.written[name], open_letters) for name in FLOWS}
    assert _dashboard_rows(served.page) == shown, "the dashboard's integration page"
    return served
