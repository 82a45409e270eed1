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
