"""The `syncwell` command, end to end on the demo: the core app and the sandbox's tools."""

from __future__ import annotations

import json
import re
import shlex
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.demo.core import BAD_EMAILS
from tests.docs.blocks import find_block

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _demo(folder: Path, seconds: int) -> str:
    flags = ["--duration", str(seconds), "--free-ports", "--port", str(_free_port())]
    result = runner.invoke(app, ["demo", "--folder", str(folder), *flags])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo, run for 15 seconds: its workspace file."""
    folder = tmp_path_factory.mktemp("demo")
    output = _demo(folder, 15)
    assert "run summary" in output and "dead letters" in output
    return folder / "syncwell.yaml"


def test_check_draws_the_map_of_a_valid_workspace(demo: Path) -> None:
    """`check` on a valid file exits 0 and prints each flow with its mode and SLO."""
    result = runner.invoke(app, ["check", "-w", str(demo)])
    assert result.exit_code == 0, result.output
    assert "crm ──contacts_from_crm (realtime, reconciled every 1m" in result.output
    assert "projects ──tasks (poll every 4h" in result.output
    assert "manual" in result.output


def test_check_exits_2_with_the_line_of_the_mistake(tmp_path: Path) -> None:
    """`check` on a bad file exits 2 and names the file, the line and the field."""
    path = tmp_path / "syncwell.yaml"
    path.write_text("systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: postgress}\n")
    result = runner.invoke(app, ["check", "-w", str(path)])
    assert result.exit_code == 2
    assert f"{path}:3" in result.output.replace("\n", "")


def test_the_demo_syncs_every_tool_and_status_json_reports_it(demo: Path) -> None:
    """After the demo, `status --json` shows each automated flow's first sync done."""
    result = runner.invoke(app, ["status", "-w", str(demo), "--json"])
    assert result.exit_code == 0, result.output
    reports = {report["flow"]: report for report in json.loads(result.output)}
    assert reports["contacts_to_crm"]["written"] >= 3000  # the product's users, to sales
    assert reports["contacts_from_crm"]["written"] >= 2000  # the CRM's leads, to the product
    assert reports["audience"]["written"] >= 3000
    assert reports["tasks"]["written"] >= 500
    assert reports["onboarding_call"]["written"] == 0  # manual: mapped, not automated


def test_dead_letters_can_be_listed_shown_and_discarded(demo: Path) -> None:
    """The tools refuse the product's mistyped emails: dead letters to list, show, discard."""
    listed = runner.invoke(
        app, ["dlq", "list", "-w", str(demo), "--json", "--flow", "contacts_to_crm"]
    )
    assert listed.exit_code == 0, listed.output
    letters = json.loads(listed.output)
    assert {letter["data"]["email"] for letter in letters} == set(BAD_EMAILS)
    first = str(letters[0]["id"])
    shown = runner.invoke(app, ["dlq", "show", first, "-w", str(demo)])
    assert shown.exit_code == 0 and "email" in shown.output
    discarded = runner.invoke(app, ["dlq", "discard", first, "-w", str(demo)])
    assert discarded.exit_code == 0 and "discarded 1" in discarded.output
    again = runner.invoke(app, ["dlq", "discard", first, "-w", str(demo)])
    assert again.exit_code == 1 and "not open" in again.output


def test_a_rerun_of_the_demo_resumes_instead_of_starting_over(demo: Path) -> None:
    """The second run reads on from its checkpoints: no first sync of 3,000 users again."""
    before = _written(demo)
    _demo(demo.parent, 5)
    after = _written(demo)
    # 3,000 users went to the CRM in the first run; the rerun sends only what changed since
    # (the other flows re-read their look-back windows, which may hold most of a small table).
    assert 0 <= after["contacts_to_crm"] - before["contacts_to_crm"] < 1000


def _written(workspace: Path) -> dict[str, int]:
    result = runner.invoke(app, ["status", "-w", str(workspace), "--json"])
    return {report["flow"]: report["written"] for report in json.loads(result.output)}


def test_run_once_json_prints_progress_per_flow(tmp_path: Path) -> None:
    """`run --once --json` syncs and prints one progress object per automated flow."""
    import sqlite3

    with sqlite3.connect(tmp_path / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
        db.execute("INSERT INTO t VALUES (1, '2026-01-01')")
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at}\n"
    )
    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    result = runner.invoke(app, ["run", "--once", "--json", "-w", str(tmp_path / "syncwell.yaml")])
    assert result.exit_code == 0, result.output
    (flow,) = json.loads(result.output)
    assert flow["flow"] == "f" and flow["written"] >= 1


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
    assert "flow f: cannot read from a: table missing does not exist; create it" in result.output
    assert "Run again once that is fixed." in result.output


def test_the_demo_names_the_project_tool_as_its_constraint(demo: Path) -> None:
    """The demo's project tool is polled every 4 hours against a 30-minute SLO: the analysis
    names it, for its poll interval, and the map highlights its flow."""
    result = runner.invoke(app, ["constraint", "-w", str(demo), "--json"])
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.output)
    assert analysis["constraint"]["integration"] == "projects"
    assert analysis["constraint"]["reason"] == "poll_interval"
    assert {v["integration"] for v in analysis["ranking"]} >= {"crm", "email", "projects"}
    drawn = runner.invoke(app, ["map", "-w", str(demo)])
    assert "◆ constraint" in drawn.output


def test_constraint_what_if_history_and_mistakes(tmp_path: Path) -> None:
    """A workspace polled every 20 minutes against a 5-minute SLO: named; a what-if that
    polls every minute clears it and is not kept; a bad what-if exits 2 with the fix."""
    (tmp_path / "syncwell.yaml").write_text(
        "core: a\nsystems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, "
        "interval: 20m, slo: {freshness: 5m}}\n"
    )
    workspace = ["-w", str(tmp_path / "syncwell.yaml")]
    named = runner.invoke(app, ["constraint", *workspace])
    assert named.exit_code == 0, named.output
    assert named.output.startswith("constraint: b — poll_interval (flow f)")
    assert "poll every 2m 30s or less" in named.output
    fixed = runner.invoke(app, ["constraint", *workspace, "--what-if", "f.interval=1m"])
    assert "no constraint: every flow within its SLO" in fixed.output
    wrong = runner.invoke(app, ["constraint", *workspace, "--what-if", "g.interval=1m"])
    assert wrong.exit_code == 2
    assert "no flow 'g' (--what-if): the workspace's flows are f" in wrong.output
    history = runner.invoke(app, ["constraint", *workspace, "--history", "--json"])
    (move,) = json.loads(history.output)
    assert (move["before"], move["after"], move["after_reason"]) == (None, "b", "poll_interval")


def test_a_worker_without_a_transport_says_how_to_add_one(demo: Path) -> None:
    """`syncwell worker` on a workspace that runs in one process exits 2 with the fix, and
    `syncwell run --once` on one with a transport says its workers deliver."""
    result = runner.invoke(app, ["worker", "-w", str(demo)])
    assert result.exit_code == 2
    assert "transport: {url: nats://127.0.0.1:4222}" in result.output
    distributed = demo.parent / "distributed.yaml"
    distributed.write_text(
        demo.read_text().replace("name: demo", "name: demo\nstate: postgresql://x@127.0.0.1/x\n"
                                 "transport: {url: 'nats://127.0.0.1:4222'}", 1)
    )  # fmt: skip
    result = runner.invoke(app, ["run", "-w", str(distributed), "--once"])
    assert result.exit_code == 2 and "syncwell worker" in result.output


def test_status_json_names_the_clock_each_flows_lag_runs_on(tmp_path: Path) -> None:
    """`status --json` says where each flow's freshness lag starts: a record timestamp for a
    flow with a cursor, the poll bound for one without (docs/measurements.md)."""
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  stamped: {source: a, destination: b, stream: t, key: id, cursor: at}\n"
        "  whole: {source: a, destination: b, stream: u, key: id}\n"
    )
    result = runner.invoke(app, ["status", "-w", str(tmp_path / "syncwell.yaml"), "--json"])
    assert result.exit_code == 0, result.output
    clocks = {report["flow"]: report["lag_clock"] for report in json.loads(result.output)}
    assert clocks == {"stamped": "record", "whole": "poll"}


_NUMBER = re.compile(r"<?\d+(?:[.,]\d+)*")
_NEAREST = re.compile(r"; nearest its limit: \S+ at \S+ of capacity$")
_RANKED = re.compile(r"^ +\d+\. (\S+): (\w+)")


def _shape(line: str) -> str:
    """A line of `syncwell constraint` as far as a doc can promise it: the numbers, which
    integration is nearest its limit (named from 1% of capacity) and the order of the healthy
    ones come from the run (the demo's load on the machine); a ranked one keeps its name and
    state."""
    ranked = _RANKED.match(line)
    if ranked is not None:
        return f"ranked {ranked[1]}: {ranked[2]}"
    return _NUMBER.sub("#", _NEAREST.sub("", line.rstrip()))


def _shown_as_printed(shown: list[str], printed: list[str]) -> str | None:
    """Why `shown` is not what was `printed` (None when it is): line by line, an `...` line
    standing for any lines, the ranking compared as a set."""
    want = [_shape(line) for line in shown if line.strip()]
    got = [_shape(line) for line in printed if line.strip()]
    if {w for w in want if w.startswith("ranked ")} - {g for g in got if g.startswith("ranked ")}:
        return "a ranked integration or its state differs"
    want = [w for w in want if not w.startswith("ranked ")]
    got = [g for g in got if not g.startswith("ranked ")]
    at, skipping = 0, False
    for line in want:
        if line.strip() == "...":
            skipping = True
            continue
        while skipping and at < len(got) and got[at] != line:
            at += 1
        if at >= len(got) or got[at] != line:
            return f"shown {line!r}, printed {got[at] if at < len(got) else 'nothing more'!r}"
        at, skipping = at + 1, False
    return None if skipping or at == len(got) else f"not shown: {got[at]!r} (add ...)"


@pytest.mark.parametrize(
    "block",
    [
        ("README.md", "$ syncwell constraint\nconstraint: projects"),
        ("docs/constraint.md", "$ syncwell constraint\nconstraint: projects"),
        ("docs/constraint.md", "$ syncwell constraint --what-if tasks.interval=10m\n"),
    ],
)
def test_the_docs_show_what_syncwell_constraint_prints_after_the_demo(
    demo: Path, block: tuple[str, str]
) -> None:
    """Each `syncwell constraint` the README and docs/constraint.md show after the demo,
    run on the demo, prints the lines they show, numbers aside (issue 13: the README's
    what-if said "no constraint" while the command answered "timeouts")."""
    text = find_block(*block).text
    sessions = re.split(r"^\$ ", text, flags=re.MULTILINE)[1:]
    for session in sessions:
        command, *shown = session.splitlines()
        if not shown:
            continue  # a command shown without its output (map -o map.svg)
        words = shlex.split(command, comments=True)
        assert words[0] == "syncwell", command
        result = runner.invoke(app, [*words[1:], "-w", str(demo)])
        assert result.exit_code == 0, result.output
        problem = _shown_as_printed(shown, result.output.splitlines())
        assert problem is None, f"{block[0]}: $ {command}: {problem}\n{result.output}"
