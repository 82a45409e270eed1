"""The workspace graph."""

from __future__ import annotations

from datetime import timedelta

from syncwell.map import build_graph
from syncwell.workspace import Mode, Workspace


def test_systems_are_nodes_with_kind_and_core(workspace: Workspace) -> None:
    """Every system is a node carrying its kind and whether it is core."""
    graph = build_graph(workspace)
    assert dict(graph.nodes(data=True)) == {
        "app": {"kind": "postgres", "core": True},
        "crm": {"kind": "sqlite", "core": False},
        "sheet": {"kind": "sqlite", "core": False},
    }


def test_flows_are_edges_keyed_by_name(workspace: Workspace) -> None:
    """Parallel flows between the same systems stay separate edges with their own attributes."""
    graph = build_graph(workspace)
    assert sorted(graph["crm"]["app"]) == ["contacts", "leads"]
    contacts = graph.edges["crm", "app", "contacts"]
    assert contacts["flow"] == "contacts"
    assert contacts["mode"] is Mode.POLL
    assert contacts["interval"] == timedelta(seconds=30)
    assert contacts["slo"] == workspace.flows["contacts"].slo
    assert graph.number_of_edges() == len(workspace.flows)


def test_graph_attributes_hold_name_and_workflows(workspace: Workspace) -> None:
    """The graph itself carries the workspace name and its workflows' flow chains."""
    graph = build_graph(workspace)
    assert graph.graph["name"] == "demo"
    assert graph.graph["workflows"]["lead_to_core"] == ("contacts", "deals")
