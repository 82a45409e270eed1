"""Which flows feed which: in a one-off run, a flow reads only after the flows that write
into its source have delivered, so a chain (CRM -> core -> email) settles in one run."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from syncwell.workspace import Flow

__all__ = ["upstream_flows"]


def upstream_flows(flows: Sequence[Flow]) -> dict[str, set[str]]:
    """For each flow, the flows it should wait for.

    Flow A feeds flow B when A writes to the system B reads. Flows on a cycle (a two-way sync)
    cannot wait for each other, so only feeders outside the flow's own cycle count, with one
    exception: a flow whose destination wins conflicts waits for the flows coming back from
    that destination, so the winner's changes are known before the loser's are written.
    """
    graph = nx.DiGraph()
    graph.add_nodes_from(flow.name for flow in flows)
    graph.add_edges_from(
        (feeder.name, flow.name)
        for flow in flows
        for feeder in flows
        if feeder.destination == flow.source and feeder.name != flow.name
    )
    component = {
        name: index
        for index, names in enumerate(nx.strongly_connected_components(graph))
        for name in names
    }
    waits = {
        name: {f for f in nx.ancestors(graph, name) if component[f] != component[name]}
        for name in graph.nodes
    }
    for flow in flows:
        if flow.conflict == flow.destination:
            waits[flow.name] |= {
                back.name
                for back in flows
                if back.source == flow.destination and back.destination == flow.source
            }
    return waits
