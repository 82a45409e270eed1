"""The workflows the analysis weighs: those the workspace declares, else the flow graph's paths.

A path is a chain of flows where each one's destination is the next one's source (lead ->
CRM -> core -> email). Going straight back where a change came from (the two halves of a
two-way sync) is not a step of a path. Paths are enumerated up to a limit: a large star of
tools around one core has millions of paths, and then each flow stands as its own workflow.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from syncwell.workspace import Workspace

__all__ = ["PATH_LIMIT", "model_workflows"]

PATH_LIMIT = 10_000


def model_workflows(workspace: Workspace) -> dict[str, tuple[str, ...]]:
    """Workflow name -> its flows in order."""
    if workspace.workflows:
        return {name: tuple(w.flows) for name, w in workspace.workflows.items()}
    flows = workspace.flows
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(flows)
    by_source: dict[str, list[str]] = {}
    for name, flow in flows.items():
        by_source.setdefault(flow.source, []).append(name)
    for name, flow in flows.items():
        for following in by_source.get(flow.destination, ()):
            if flows[following].destination != flow.source:
                graph.add_edge(name, following)
    paths: dict[str, tuple[str, ...]] = {}
    for path in _maximal_paths(graph):
        if len(paths) == PATH_LIMIT:
            return {name: (name,) for name in flows}
        paths[" -> ".join(path)] = path
    return paths


def _maximal_paths(graph: nx.DiGraph[str]) -> Iterator[tuple[str, ...]]:
    starts = [n for n in graph if graph.in_degree(n) == 0]
    # A cycle with no way in has no start: any of its flows will do, once per component.
    reached, waiting = set(starts), list(starts)
    while waiting:
        for following in graph.successors(waiting.pop()):
            if following not in reached:
                reached.add(following)
                waiting.append(following)
    for component in nx.weakly_connected_components(graph):
        if not component & reached:
            starts.append(min(component))
    for start in sorted(starts):
        yield from _walk(graph, (start,))


def _walk(graph: nx.DiGraph[str], path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    onward = [n for n in graph.successors(path[-1]) if n not in path]
    if not onward:
        yield path
        return
    for following in sorted(onward):
        yield from _walk(graph, (*path, following))
