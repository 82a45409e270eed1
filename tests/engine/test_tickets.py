"""Ticket intake from a CSV: attributed by tag, by text and by field, kept by id, counted."""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.engine.tickets import parse_time, read_every
from syncwell.store import open_store
from syncwell.workspace import load_workspace

runner = CliRunner()

_WORKSPACE = """
systems:
  core: {kind: sqlite, path: app.db}
  crm: {kind: sqlite, path: crm.db}
  email: {kind: sqlite, path: email.db}
flows:
  contacts: {source: crm, destination: core, stream: contacts, key: id, cursor: u}
  news: {source: core, destination: email, stream: people, key: id, cursor: u}
tickets:
  csv: tickets.csv
  fields: {id: number, opened: created, closed: resolved, text: [subject, body]}
  integrations:
    email: {match: "newsletter|mailchimp"}
    crm: {tags: [crm, hubspot], fields: {queue: "^sales$"}}
"""


def _iso(hours_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - hours_ago * 3600, UTC).isoformat()


def _write(folder: Path, rows: list[tuple[str, ...]]) -> Path:
    (folder / "syncwell.yaml").write_text(textwrap.dedent(_WORKSPACE))
    lines = ["number,created,resolved,subject,body,tags,queue"]
    lines += [",".join(row) for row in rows]
    (folder / "tickets.csv").write_text("\n".join(lines) + "\n")
    return folder / "syncwell.yaml"


def _counts(path: Path) -> dict[str, dict[str, object]]:
    result = runner.invoke(app, ["tickets", "-w", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return {row["integration"]: row for row in json.loads(result.output)["integrations"]}


def test_csv_tickets_are_attributed_by_tag_text_and_field(tmp_path: Path) -> None:
    """Tags, a regex over subject and body, and a field's value each name an integration; the
    rest is unattributed; the median time to resolve is over the resolved ones."""
    path = _write(
        tmp_path,
        [
            ("1", _iso(10), _iso(8), "contacts missing", "", "crm;urgent", "support"),
            ("2", _iso(9), _iso(8), "duplicate lead", "", "HubSpot", "support"),
            ("3", _iso(7), "", "owner wrong", "", "", "sales"),
            ("4", _iso(6), _iso(2), "not sent", "the Newsletter never went", "", "support"),
            ("5", _iso(5), "", "login broken", "", "", "support"),
        ],
    )
    counts = _counts(path)
    assert counts["crm"]["opened"] == 3
    assert counts["crm"]["still_open"] == 1
    assert counts["crm"]["median_resolve_s"] is not None
    assert abs(float(str(counts["crm"]["median_resolve_s"])) - 5400) < 5  # 2h and 1h
    assert counts["email"]["opened"] == 1
    assert abs(float(str(counts["email"]["median_resolve_s"])) - 4 * 3600) < 5
    assert counts["(unattributed)"]["opened"] == 1


def test_an_import_again_updates_and_never_duplicates(tmp_path: Path) -> None:
    """Reading the same tickets twice counts them once; a ticket closed since is updated."""
    rows = [("7", _iso(3), "", "crm sync", "", "crm", "")]
    path = _write(tmp_path, rows)
    assert _counts(path)["crm"]["still_open"] == 1
    _write(tmp_path, [("7", _iso(3), _iso(1), "crm sync", "", "crm", "")])
    counts = _counts(path)
    assert counts["crm"]["opened"] == 1 and counts["crm"]["still_open"] == 0


def test_a_bad_row_is_skipped_with_its_reason(tmp_path: Path) -> None:
    """A ticket without an opened time is left out, and the import says which and why."""
    path = _write(
        tmp_path, [("8", "", "", "crm", "", "crm", ""), ("9", _iso(1), "", "x", "", "", "")]
    )
    result = runner.invoke(app, ["tickets", "-w", str(path), "--json"])
    answer = json.loads(result.output)
    assert answer["read"] == 1
    assert answer["skipped"] == ["ticket 8: no `created` (fields.opened)"]


def test_times_read_as_helpdesks_write_them() -> None:
    """ISO times with Z, Unix seconds, and the epoch (a time never set) as none."""
    assert parse_time("2026-01-01T00:00:00Z") == 1767225600.0
    assert parse_time("1767225600") == 1767225600.0
    assert parse_time("1970-01-01T00:00:00Z") is None
    assert parse_time("") is None


async def test_run_reads_the_tickets_beside_the_flows_until_it_stops(tmp_path: Path) -> None:
    """What `syncwell run` starts: the tickets are imported at once, again on the interval,
    and the loop ends when the run halts."""
    path = _write(tmp_path, [("1", _iso(2), "", "crm down", "", "crm", "")])
    workspace = load_workspace(path)
    store = await open_store(workspace.state)
    try:
        halt = asyncio.Event()
        reading = asyncio.create_task(read_every(workspace, store, halt))
        for _ in range(200):
            if await store.tickets.since(0.0):
                break
            await asyncio.sleep(0.01)
        halt.set()
        await asyncio.wait_for(reading, 5)
        assert [t.integration for t in await store.tickets.since(0.0)] == ["crm"]
    finally:
        await store.close()


def test_the_command_prints_a_table_and_refuses_a_workspace_without_tickets(
    tmp_path: Path,
) -> None:
    """`syncwell tickets` prints the count read and a row per integration; without a
    `tickets:` section it exits 2 and says where to read about one."""
    path = _write(tmp_path, [("1", _iso(2), _iso(1), "crm down", "", "crm", "")])
    result = runner.invoke(app, ["tickets", "-w", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 tickets read" in result.output and "crm" in result.output and "1h" in result.output
    path.write_text(path.read_text().split("tickets:")[0])
    refused = runner.invoke(app, ["tickets", "-w", str(path)])
    assert refused.exit_code == 2 and "no `tickets:` section" in refused.output
