"""The `syncwell` command, end to end on the embedded demo (SQLite files in a temp folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncwell.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, run once: its workspace file."""
    folder = tmp_path_factory.mktemp("demo")
    result = runner.invoke(app, ["demo", "--folder", str(folder)])
    assert result.exit_code == 0, result.output
    assert "dead letters" in result.output and "incremental sync" in result.output
    return folder / "syncwell.yaml"


def test_check_draws_the_map_of_a_valid_workspace(demo: Path) -> None:
    """`check` on a valid file exits 0 and prints each flow with its mode and SLO."""
    result = runner.invoke(app, ["check", "-w", str(demo)])
    assert result.exit_code == 0, result.output
    assert "crm ──contacts (poll every 30s" in result.output
    assert "manual" in result.output


def test_check_exits_2_with_the_line_of_the_mistake(tmp_path: Path) -> None:
    """`check` on a bad file exits 2 and names the file, the line and the field."""
    path = tmp_path / "syncwell.yaml"
    path.write_text("systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: postgress}\n")
    result = runner.invoke(app, ["check", "-w", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3" in result.output.replace("\n", "")


def test_status_json_reports_every_flow(demo: Path) -> None:
    """`status --json` lists each flow with its backlog, writes and dead letters."""
    result = runner.invoke(app, ["status", "-w", str(demo), "--json"])
    assert result.exit_code == 0, result.output
    reports = {report["flow"]: report for report in json.loads(result.output)}
    assert reports["contacts"]["backlog"] == 0
    assert reports["contacts"]["written"] >= 19_980
    assert reports["contacts"]["dead_letters"] >= 20


def test_dead_letters_can_be_listed_shown_and_discarded(demo: Path) -> None:
    """`dlq list`, `show` and `discard` work on the demo's refused contacts, and say so."""
    listed = runner.invoke(app, ["dlq", "list", "-w", str(demo), "--json", "--limit", "5"])
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.output)
    assert len(letters) == 5 and all(letter["data"]["email"] is None for letter in letters)
    first = str(letters[0]["id"])
    shown = runner.invoke(app, ["dlq", "show", first, "-w", str(demo)])
    assert shown.exit_code == 0 and "NOT NULL" in shown.output
    discarded = runner.invoke(app, ["dlq", "discard", first, "-w", str(demo)])
    assert discarded.exit_code == 0 and "discarded 1" in discarded.output
    again = runner.invoke(app, ["dlq", "discard", first, "-w", str(demo)])
    assert again.exit_code == 1 and "not open" in again.output


def test_run_once_json_prints_progress_per_flow(demo: Path) -> None:
    """`run --once --json` syncs and prints one progress object per automated flow."""
    result = runner.invoke(app, ["run", "--once", "--json", "-w", str(demo)])
    assert result.exit_code == 0, result.output
    flows = {item["flow"] for item in json.loads(result.output)}
    assert flows == {"contacts", "audience"}


def test_run_once_gives_up_on_a_broken_flow_with_exit_1(tmp_path: Path) -> None:
    """A one-off run whose source table is missing stops after its retries and says why."""
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n"
        "  a: {kind: sqlite, path: a.db, retry: {base_s: 0.01, cap_s: 0.02, max_attempts: 2}}\n"
        "  b: {kind: sqlite, path: b.db}\n"
        "flows:\n"
        "  f: {source: a, destination: b, stream: missing, key: id, cursor: at}\n"
    )
    result = runner.invoke(app, ["run", "--once", "-w", str(tmp_path / "syncwell.yaml")])
    assert result.exit_code == 1
    assert "f gave up" in result.output and "table missing does not exist" in result.output
