"""Where the SVG map puts each system and each flow: a small layered layout on networkx.

The drawing reads left to right, the way records travel. Systems stand in columns; between two
columns is a gap column in which every flow that crosses it has a slot of its own. The slot of a
flow's label holds its text, with the arrow running straight under it. Because each flow has its
own slot, two flows between the same systems (opposite ways, or several the same way) never
share a line, and no arrow crosses a label: arrows only bend in the margins beside the columns.

The steps are the classic ones for layered drawings (Sugiyama's): give each system a layer so
that trusted flows run left to right, put a waypoint for a flow in each column it crosses, order
every column by the barycentre of its neighbours to keep crossings few, then move each slot
towards its neighbours' height. Everything follows the workspace's own order and no set is
iterated, so the same workspace gives the same layout, to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import NamedTuple

import networkx as nx  # type: ignore[import-untyped, unused-ignore]

__all__ = ["Box", "Layout", "Point", "Route", "Size", "layout"]

Point = tuple[float, float]

_MARGIN = 40.0  # beside each column: where arrows bend, never text
_SPACING = 22.0  # between two slots of one column
_PORT_GAP = 16.0  # between two arrows meeting one side of a box
_WAYPOINT = 6.0  # height of the slot a flow takes in a column it only passes through
_RAIL = 5.0  # between a label's last line and the arrow under it
_SWEEPS = 4
_PASSES = 8


class Size(NamedTuple):
    """The room a system's box or a flow's label needs."""

    width: float
    height: float


@dataclass(frozen=True)
class Box:
    """A rectangle: its top-left corner and its size."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Route:
    """A flow's way from its source's box to its destination's.

    `knots` are the points the arrow passes, first on the source's box and last on the
    destination's; from ``knots[straight]`` to ``knots[straight + 1]`` it runs straight under
    its label, and between any other two it bends smoothly, leaving and arriving level.
    """

    knots: tuple[Point, ...]
    straight: int
    label: Box


@dataclass(frozen=True)
class Layout:
    """Every system's box and every flow's route, in an area from (0, 0) to (width, height)."""

    systems: dict[str, Box]
    routes: dict[str, Route]
    width: float
    height: float


class _Slot(NamedTuple):
    column: int
    name: str
    system: bool  # a system's box; otherwise a flow's waypoint or label


def layout(
    graph: nx.MultiDiGraph,
    boxes: Mapping[str, Size],
    labels: Mapping[str, Size],
    trusted: Sequence[str],
) -> Layout:
    """Lay out `graph` (from `build_graph`) left to right.

    Args:
        graph: systems as nodes, flows as edges keyed by the flow's name.
        boxes: the least size of each system's box; it grows to fit the arrows that meet it.
        labels: the size of each flow's label.
        trusted: flow names, the most telling first: each one runs left to right unless a
            flow before it already runs the other way round the same cycle.
    """
    layers = _layers(graph, trusted)
    chains = _chains(graph, layers)
    columns = _columns(graph, layers, chains)
    links = _links(chains)
    _order(columns, links)
    label_of = {flow: _label_slot(chain) for flow, chain in chains.items()}
    heights = _heights(columns, boxes, labels, label_of, chains)
    anchors = {slot: _anchor(slot, heights, labels) for column in columns for slot in column}
    tops = _place(columns, heights, anchors, links)
    lefts, widths = _xs(columns, boxes, labels, label_of)
    mids = [left + width / 2 for left, width in zip(lefts, widths, strict=True)]
    systems = {
        slot.name: Box(
            lefts[slot.column] + (widths[slot.column] - boxes[slot.name].width) / 2,
            tops[slot],
            boxes[slot.name].width,
            heights[slot],
        )
        for column in columns
        for slot in column
        if slot.system
    }
    ports = _ports(systems, chains, tops, anchors)
    routes = {}
    for flow, chain in chains.items():
        level = {slot: tops[slot] + anchors[slot] for slot in chain[1:-1]}
        gap = label_of[flow].column
        rail = (lefts[gap] + _MARGIN, widths[gap] - 2 * _MARGIN)
        routes[flow] = _route(chain, level, ports[flow], label_of[flow], rail, labels[flow], mids)
    height = max((tops[slot] + heights[slot] for slot in tops), default=0.0)
    return Layout(systems, routes, lefts[-1] + widths[-1] if lefts else 0.0, height)


def _layers(graph: nx.MultiDiGraph, trusted: Sequence[str]) -> dict[str, int]:
    # Collapsing each cycle to one layer (the condensation) would stack both ends of a two-way
    # flow in one column, arrows going up and down. Instead the trusted flows are kept in order
    # while they close no cycle, and the acyclic rest is layered by topological generations.
    ends = {flow: (source, destination) for source, destination, flow in graph.edges(keys=True)}
    dag = nx.DiGraph()
    dag.add_nodes_from(graph)
    for flow in trusted:
        source, destination = ends[flow]
        if source != destination and not nx.has_path(dag, destination, source):
            dag.add_edge(source, destination)
    layer = {
        node: depth
        for depth, generation in enumerate(nx.topological_generations(dag))
        for node in generation
    }
    # A system that only sends stands just left of the first one it sends to: short arrows.
    for node in graph:
        if dag.in_degree(node) == 0 and dag.out_degree(node) > 0:
            layer[node] = min(layer[after] for after in dag.successors(node)) - 1
    low = min(layer.values(), default=0)
    return {node: layer[node] - low for node in graph}


def _chains(graph: nx.MultiDiGraph, layers: Mapping[str, int]) -> dict[str, list[_Slot]]:
    """Each flow's slots, from its source's box through every column between to its end."""
    chains = {}
    for source, destination, flow in graph.edges(keys=True):
        start, end = 2 * layers[source], 2 * layers[destination]
        step = 1 if end >= start else -1
        # A flow from a system to itself (the loader refuses one) goes out and back on the right.
        between = range(start + step, end, step) if end != start else range(start + 1, start + 2)
        chains[flow] = [
            _Slot(start, source, system=True),
            *(_Slot(column, flow, system=False) for column in between),
            _Slot(end, destination, system=True),
        ]
    return chains


def _columns(
    graph: nx.MultiDiGraph, layers: Mapping[str, int], chains: Mapping[str, list[_Slot]]
) -> list[list[_Slot]]:
    """The slots of each column, systems in the workspace's order, then flows in theirs."""
    slots = [_Slot(2 * layers[node], node, system=True) for node in graph]
    slots += [slot for chain in chains.values() for slot in chain[1:-1]]
    count = max((slot.column for slot in slots), default=-1) + 1
    columns: list[list[_Slot]] = [[] for _ in range(count)]
    for slot in slots:
        columns[slot.column].append(slot)
    return columns


def _links(chains: Mapping[str, list[_Slot]]) -> dict[_Slot, list[_Slot]]:
    links: dict[_Slot, list[_Slot]] = {}
    for chain in chains.values():
        for one, other in pairwise(chain):
            links.setdefault(one, []).append(other)
            links.setdefault(other, []).append(one)
    return links


def _order(columns: list[list[_Slot]], links: Mapping[_Slot, list[_Slot]]) -> None:
    """Reorder each column by its neighbours' mean position, sweeping right then left."""
    for _ in range(_SWEEPS):
        for index in range(1, len(columns)):
            columns[index] = _by_barycentre(columns[index], columns[index - 1], links)
        for index in range(len(columns) - 2, -1, -1):
            columns[index] = _by_barycentre(columns[index], columns[index + 1], links)


def _by_barycentre(
    column: list[_Slot], beside: list[_Slot], links: Mapping[_Slot, list[_Slot]]
) -> list[_Slot]:
    where = {slot: index for index, slot in enumerate(beside)}

    def key(item: tuple[int, _Slot]) -> tuple[float, int]:
        index, slot = item
        near = [where[other] for other in links.get(slot, []) if other in where]
        return (sum(near) / len(near) if near else index, index)

    return [slot for _, slot in sorted(enumerate(column), key=key)]


def _label_slot(chain: list[_Slot]) -> _Slot:
    """The gap column nearest the middle of the flow: where its label goes."""
    gaps = [slot for slot in chain[1:-1] if slot.column % 2]
    return gaps[(len(gaps) - 1) // 2]


def _sides(chain: list[_Slot]) -> tuple[str, str]:
    """The side of its source's box a flow leaves by, and of its destination's it arrives at."""
    out = "right" if chain[1].column > chain[0].column else "left"
    return out, "left" if chain[-2].column < chain[-1].column else "right"


def _heights(
    columns: list[list[_Slot]],
    boxes: Mapping[str, Size],
    labels: Mapping[str, Size],
    label_of: Mapping[str, _Slot],
    chains: Mapping[str, list[_Slot]],
) -> dict[_Slot, float]:
    arrows: dict[tuple[str, str], int] = {}
    for chain in chains.values():
        out, into = _sides(chain)
        for key in ((chain[0].name, out), (chain[-1].name, into)):
            arrows[key] = arrows.get(key, 0) + 1
    heights = {}
    for slot in (slot for column in columns for slot in column):
        if slot.system:
            busiest = max(arrows.get((slot.name, side), 0) for side in ("left", "right"))
            heights[slot] = max(boxes[slot.name].height, (busiest + 1) * _PORT_GAP)
        elif label_of[slot.name] == slot:
            heights[slot] = labels[slot.name].height + _RAIL
        else:
            heights[slot] = _WAYPOINT
    return heights


def _anchor(slot: _Slot, heights: Mapping[_Slot, float], labels: Mapping[str, Size]) -> float:
    """How far below its top the arrows meet a slot: a label's arrow runs under its text."""
    if not slot.system and heights[slot] > _WAYPOINT:
        return labels[slot.name].height + _RAIL
    return heights[slot] / 2


def _place(
    columns: list[list[_Slot]],
    heights: Mapping[_Slot, float],
    anchors: Mapping[_Slot, float],
    links: Mapping[_Slot, list[_Slot]],
) -> dict[_Slot, float]:
    """The top of each slot: stacked in column order, each as level with its neighbours as room
    allows."""
    tops: dict[_Slot, float] = {}
    for column in columns:
        tops |= _stack(column, [0.0] * len(column), heights)
    for _ in range(_PASSES):
        for column in [*columns, *reversed(columns)]:
            wanted = []
            for slot in column:
                near = [tops[other] + anchors[other] for other in links.get(slot, [])]
                wanted.append(sum(near) / len(near) - anchors[slot] if near else tops[slot])
            tops |= _stack(column, wanted, heights)
    low = min(tops.values(), default=0.0)
    return {slot: round(top - low, 1) for slot, top in tops.items()}


def _stack(
    column: list[_Slot], wanted: list[float], heights: Mapping[_Slot, float]
) -> dict[_Slot, float]:
    """Tops as near `wanted` as keeps the order and the spacing, off by as much up as down."""
    tops, floor = [], float("-inf")
    for slot, top in zip(column, wanted, strict=True):
        tops.append(max(top, floor))
        floor = tops[-1] + heights[slot] + _SPACING
    drift = sum(top - want for top, want in zip(tops, wanted, strict=True)) / max(len(tops), 1)
    return {slot: top - drift for slot, top in zip(column, tops, strict=True)}


def _xs(
    columns: list[list[_Slot]],
    boxes: Mapping[str, Size],
    labels: Mapping[str, Size],
    label_of: Mapping[str, _Slot],
) -> tuple[list[float], list[float]]:
    """Each column's left edge and width: a gap column fits its widest label and two margins."""
    widths = []
    for index, column in enumerate(columns):
        if index % 2 == 0:
            widths.append(max((boxes[s.name].width for s in column if s.system), default=0.0))
        else:
            text = [labels[s.name].width for s in column if label_of[s.name] == s]
            widths.append(max(text, default=0.0) + 2 * _MARGIN)
    lefts = [sum(widths[:index]) for index in range(len(widths))]
    return lefts, widths


def _ports(
    systems: Mapping[str, Box],
    chains: Mapping[str, list[_Slot]],
    tops: Mapping[_Slot, float],
    anchors: Mapping[_Slot, float],
) -> dict[str, tuple[Point, Point]]:
    """Where each flow leaves its source and meets its destination, spread down the box's side
    in the order of the slots they come from, so that they do not cross by the box."""
    meeting: dict[tuple[str, str], list[tuple[float, int, int, str]]] = {}
    for order, (flow, chain) in enumerate(chains.items()):
        out, into = _sides(chain)
        for end, (slot, side, near) in enumerate(
            [(chain[0], out, chain[1]), (chain[-1], into, chain[-2])]
        ):
            level = tops[near] + anchors[near]
            meeting.setdefault((slot.name, side), []).append((level, order, end, flow))
    points: dict[str, list[Point]] = {flow: [(0.0, 0.0), (0.0, 0.0)] for flow in chains}
    for (system, side), arrows in meeting.items():
        box = systems[system]
        x = box.x + box.width if side == "right" else box.x
        for index, (_, _, end, flow) in enumerate(sorted(arrows)):
            y = box.y + box.height * (index + 1) / (len(arrows) + 1)
            points[flow][end] = (x, round(y, 1))
    return {flow: (pair[0], pair[1]) for flow, pair in points.items()}


def _route(
    chain: list[_Slot],
    level: Mapping[_Slot, float],
    ports: tuple[Point, Point],
    label: _Slot,
    rail: tuple[float, float],
    size: Size,
    mids: Sequence[float],
) -> Route:
    """The knots of one flow: its ports, a point per column it passes, its label's rail."""
    forward = chain[1].column > chain[0].column
    left, width = rail
    knots, straight = [ports[0]], 0
    for slot in chain[1:-1]:
        y = level[slot]
        if slot == label:
            straight = len(knots)
            ends = [(left, y), (left + width, y)]
            knots += ends if forward else ends[::-1]
        else:
            knots.append((round(mids[slot.column], 1), y))
    knots.append(ports[1])
    top = level[label] - _RAIL - size.height
    box = Box(round(left + (width - size.width) / 2, 1), top, size.width, size.height)
    return Route(tuple(knots), straight, box)
