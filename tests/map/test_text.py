"""The text map."""

from __future__ import annotations

from pathlib import Path

from syncwell.map import render_text
from syncwell.workspace import Workspace, parse_workspace


def test_flows_are_drawn_as_arrows_with_mode_interval_and_slo(workspace: Workspace) -> None:
    """Each flow is one arrow line saying how often it runs and its SLO."""
    lines = render_text(workspace).splitlines()
    assert "  crm ──contacts (poll every 30s, SLO fresh ≤ 5m, ≥99%)──▶ app" in lines
    assert (
        "  app ──deals (realtime, reconciled every 15m, SLO fresh ≤ 15m, ≥99.5%)──▶ sheet" in lines
    )
    assert "  crm ──leads (batch every 1h30m, SLO fresh ≤ 15m, ≥99%)──▶ app" in lines


def test_manual_flows_are_marked(workspace: Workspace) -> None:
    """A manual flow says it is done by hand instead of giving an interval."""
    assert "  sheet ──invoices (manual: done by hand)──▶ app" in render_text(workspace)


def test_systems_show_kind_and_core(workspace: Workspace) -> None:
    """The systems list gives each kind and marks the core system."""
    lines = render_text(workspace).splitlines()
    assert lines[lines.index("systems") + 1 :][:3] == [
        "  app    postgres  core",
        "  crm    sqlite",
        "  sheet  sqlite",
    ]


def test_workflows_are_chains(workspace: Workspace) -> None:
    """Each workflow is a chain of its flows, with its description when it has one."""
    lines = render_text(workspace).splitlines()
    assert "  lead_to_core: contacts → deals" in lines
    assert "  billing: deals → invoices  — Month end" in lines


def test_a_workspace_without_core_or_flows_says_so(tmp_path: Path) -> None:
    """An empty map says there are no flows and no core system, and lists no workflows."""
    workspace = parse_workspace("systems: {a: {kind: sqlite, path: a}}\n", root=tmp_path, env={})
    text = render_text(workspace)
    assert "  (none)" in text
    assert "no core system" in text
    assert "workflows" not in text


def test_health_follows_each_flow_when_given(workspace: Workspace) -> None:
    """With health, every flow line ends in its health, ``unknown`` for flows not measured,
    all in one column just past the widest arrow."""
    text = render_text(workspace, health={"contacts": "breach", "deals": "ok"})
    rows = [line for line in text.splitlines() if "──▶" in line]
    assert [line.split()[-1] for line in rows] == ["breach", "ok", "unknown", "unknown"]
    widest = "  app ──deals (realtime, reconciled every 15m, SLO fresh ≤ 15m, ≥99.5%)──▶ sheet"
    assert rows[1] == f"{widest}  ok"
    assert {line.rindex(" ") + 1 for line in rows} == {len(widest) + 2}
    assert rows[0].startswith("  crm ──contacts (poll every 30s, SLO fresh ≤ 5m, ≥99%)──▶ app  ")


def test_without_health_no_health_is_shown(workspace: Workspace) -> None:
    """Without health (as `syncwell check` draws it) no flow line carries a health word."""
    for line in render_text(workspace).splitlines():
        assert not line.endswith(("ok", "breach", "unknown")), line


def test_the_highlighted_flow_is_marked_constraint(workspace: Workspace) -> None:
    """The highlighted flow's line, and no other, ends with its health and the marker."""
    lines = render_text(workspace, highlight="invoices", health={"invoices": "breach"}).splitlines()
    marked = [line for line in lines if "◆ constraint" in line]
    assert len(marked) == 1
    assert marked[0].startswith("  sheet ──invoices (manual: done by hand)──▶ app  ")
    assert marked[0].endswith("  breach  ◆ constraint")


def test_the_highlighted_system_is_marked_constraint(workspace: Workspace) -> None:
    """A highlighted system's line carries the marker after its kind and role columns."""
    lines = render_text(workspace, highlight="crm").splitlines()
    assert lines[lines.index("systems") + 1 :][:3] == [
        "  app    postgres  core",
        "  crm    sqlite          ◆ constraint",
        "  sheet  sqlite",
    ]
    assert sum("◆ constraint" in line for line in lines) == 1


def test_a_highlight_that_names_nothing_is_ignored(workspace: Workspace) -> None:
    """A name that is neither a flow nor a system marks nothing."""
    assert render_text(workspace, highlight="nope") == render_text(workspace)
