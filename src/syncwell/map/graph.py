"""The workspace as a graph: one node per system, one edge per flow.

A `networkx.MultiDiGraph`, because two systems are often joined by several flows in the same
direction (contacts and deals, both crm -> app). Renderings and the constraint finder read it.
"""

from __future__ import annotations

import networkx as nx  # type: ignore[import-untyped, unused-ignore]

from syncwell.workspace import Workspace

__all__ = ["build_graph"]


def build_graph(workspace: Workspace) -> nx.MultiDiGraph:
    """The systems and flows of `workspace`.

    Nodes are system names with attributes ``kind`` and ``core`` (bool). Edges go from a flow's
    source to its destination, keyed by the flow's name, with attributes ``flow`` (name),
    ``mode`` (`Mode`), ``interval`` (`timedelta` or None) and ``slo`` (`Slo`). The graph's own
    attributes hold ``name`` and ``workflows`` (name -> tuple of flow names).
    """
    graph = nx.MultiDiGraph(
        name=workspace.name,
        workflows={name: wf.flows for name, wf in workspace.workflows.items()},
    )
    for name, system in workspace.systems.items():
        graph.add_node(name, kind=system.kind, core=name == workspace.core)
    for name, flow in workspace.flows.items():
        graph.add_edge(
            flow.source,
            flow.destination,
            key=name,
            flow=name,
            mode=flow.mode,
            interval=flow.interval,
            slo=flow.slo,
        )
    return graph
