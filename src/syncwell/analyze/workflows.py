"""The workflows the analysis weighs: those the workspace declares, else the flow graph's paths.

A path is a chain of flows where each one's destination is the next one's source (lead ->
CRM -> core -> email). Going straight back where a change came from (the two halves of a
two-way sync) is not a step of a path. Paths are enumerated up to a limit: a large star of
tools around one core has millions of paths, and then each flow stands as its own workflow.

The successors of a flow are looked up by system, never stored as edges: 2,500 flows into a
core and 2,500 out of it are 6 million edges, and only the first 10,000 paths are walked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

import networkx as nx

from syncwell.workspace import Flow, Workspace

__all__ = ["PATH_LIMIT", "model_workflows"]

PATH_LIMIT = 10_000


def model_workflows(workspace: Workspace) -> dict[str, tuple[str, ...]]:
    """Workflow name -> its flows in order."""
    if workspace.workflows:
        return {name: tuple(w.flows) for name, w in workspace.workflows.items()}
    chains = _Chains(workspace.flows)
    if chains.at_least_paths() > PATH_LIMIT:
        return {name: (name,) for name in workspace.flows}
    paths: dict[str, tuple[str, ...]] = {}
    for path in chains.paths():
        if len(paths) == PATH_LIMIT:
            return {name: (name,) for name in workspace.flows}
        paths[" -> ".join(path)] = path
    return paths


class _Chains:
    """Which flow can follow which, looked up through the systems they meet at."""

    def __init__(self, flows: Mapping[str, Flow]) -> None:
        self._flows = flows
        self._by_source: dict[str, list[str]] = {}
        for name in sorted(flows):
            self._by_source.setdefault(flows[name].source, []).append(name)
        into = Counter(flow.destination for flow in flows.values())
        back = Counter((flow.destination, flow.source) for flow in flows.values())
        self._out = Counter(flow.source for flow in flows.values())
        self._back = back
        # A flow has a predecessor when some flow ends where it starts, other than its return.
        self._starts = [
            name
            for name, flow in sorted(flows.items())
            if into[flow.source] == back[(flow.source, flow.destination)]
        ]

    def at_least_paths(self) -> int:
        """A floor on the number of paths, counted without walking them: each start and each
        flow that can follow it begin a different path."""
        total = 0
        for name in self._starts:
            flow = self._flows[name]
            onward = self._out[flow.destination] - self._back[(flow.source, flow.destination)]
            total += max(1, onward)
        return total

    def successors(self, name: str) -> Iterator[str]:
        flow = self._flows[name]
        for following in self._by_source.get(flow.destination, ()):
            if self._flows[following].destination != flow.source:
                yield following

    def paths(self) -> Iterator[tuple[str, ...]]:
        """Maximal paths from every start; then, once that is known to be few, one path from
        each cycle that nothing leads into."""
        walked = 0
        for start in self._starts:
            for path in self._walk((start,)):
                walked += 1
                yield path
        if walked <= PATH_LIMIT:
            for start in self._unreached_cycles():
                yield from self._walk((start,))

    def _walk(self, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        onward = [n for n in self.successors(path[-1]) if n not in path]
        if not onward:
            yield path
            return
        for following in onward:
            yield from self._walk((*path, following))

    def _unreached_cycles(self) -> list[str]:
        graph: nx.DiGraph[str] = nx.DiGraph()
        graph.add_nodes_from(self._flows)
        graph.add_edges_from((name, n) for name in self._flows for n in self.successors(name))
        reached = set(self._starts)
        for start in self._starts:
            reached |= nx.descendants(graph, start)
        return [
            min(component)
            for component in nx.weakly_connected_components(graph)
            if not component & reached
        ]
