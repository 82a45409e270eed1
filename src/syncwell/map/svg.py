"""The workflow map as a standalone SVG picture: ``syncwell map --format svg -o map.svg``.

Drawn in Python alone (no Graphviz), laid out by `layout.py`: systems are rounded boxes in
columns, left to right the way records travel, the core system with a double border; each flow
is an arrow with its label (name, mode and interval, SLO) on a straight stretch of its own,
coloured by health with the palette of the dot and mermaid renderings, dashed when people do it
by hand. The constraint (`highlight`) is drawn thick and orange with a ``constraint`` tag. A
legend and the workflows close the picture.

Every name is escaped for XML, so a name with ``<``, ``&`` or quotes draws as written. Each flow
and system is a ``<g>`` whose ``<title>`` names it (a tooltip in browsers; a handle for tests).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from itertools import pairwise
from typing import NamedTuple

from syncwell.map.graph import build_graph
from syncwell.map.labels import Health, flow_health, flow_lines
from syncwell.map.layout import Box, Route, Size, layout
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["render_svg"]

_COLOURS: Mapping[Health, str] = {"ok": "#2e7d32", "breach": "#c62828", "unknown": "#9e9e9e"}
_HIGHLIGHT = "#f57c00"
_INK = "#263238"
_MUTED = "#607d8b"
_FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
    "'Noto Sans', 'Liberation Sans', 'DejaVu Sans', sans-serif"
)
_PAD = 24.0  # around the whole picture
_TITLE = 64.0  # the title's band, above the drawing
_ARROW = 10.0  # an arrowhead's length; the line stops short by as much
# XML 1.0 forbids these characters even escaped; a name holding one draws it as U+FFFD.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class _Line(NamedTuple):
    """One line of text with its look."""

    text: str
    size: float
    fill: str = _INK
    bold: bool = False
    italic: bool = False


def render_svg(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """`workspace` as an SVG 1.1 document, laid out left to right.

    Args:
        workspace: the workspace to draw.
        highlight: a flow or system to emphasise (the constraint); a name that is neither is
            ignored.
        health: each flow's health, which colours its arrow; flows not in it are ``unknown``.
    """
    labels = {
        name: _label(flow, flow_health(name, health), highlighted=name == highlight)
        for name, flow in workspace.flows.items()
    }
    plan = layout(
        build_graph(workspace),
        {name: _box_size(workspace, name) for name in workspace.systems},
        {name: _size(lines) for name, lines in labels.items()},
        _trusted(workspace),
    )
    body = [f'<g transform="translate({_n(_PAD)},{_n(_TITLE)})">']
    for index, (name, flow) in enumerate(workspace.flows.items()):
        state = flow_health(name, health)
        route = plan.routes[name]
        body += _flow(index, flow, route, labels[name], state, highlighted=name == highlight)
    for index, name in enumerate(workspace.systems):
        body += _system(index, workspace, name, plan.systems[name], highlighted=name == highlight)
    body.append("</g>")
    top = _TITLE + plan.height + 36
    legend, legend_width = _legend(top)
    notes, notes_width, notes_height = _workflows(workspace, top + 40)
    title = _width(_Line(workspace.name, 18, bold=True)) + 12 + _width(_counts(workspace))
    width = _PAD * 2 + max(plan.width, legend_width, notes_width, title)
    return _document(workspace, width, top + 40 + notes_height + _PAD, [*body, *legend, *notes])


def _trusted(workspace: Workspace) -> list[str]:
    """Flows by how much their direction should decide the layout: workflows say it best, in
    their order; then flows people automated, into the core first; manual flows last."""
    chained = list(dict.fromkeys(name for wf in workspace.workflows.values() for name in wf.flows))
    rank = {name: index for index, name in enumerate(chained)}
    order = {name: index for index, name in enumerate(workspace.flows)}

    def key(name: str) -> tuple[int, bool, bool, int]:
        flow = workspace.flows[name]
        into_core = flow.destination == workspace.core
        return (
            rank.get(name, len(rank)),
            flow.mode is Mode.MANUAL,
            not into_core,
            order[name],
        )

    return sorted(order, key=key)


def _box_lines(workspace: Workspace, name: str) -> tuple[_Line, _Line]:
    kind = workspace.systems[name].kind
    about = f"{kind} · core" if name == workspace.core else kind
    return _Line(name, 14, bold=True), _Line(about, 12, fill=_MUTED)


def _box_size(workspace: Workspace, name: str) -> Size:
    widest = max(_width(line) for line in _box_lines(workspace, name))
    return Size(max(120.0, round(widest + 36)), 58.0)


def _label(flow: Flow, health: Health, *, highlighted: bool) -> list[_Line]:
    name, how, slo = flow_lines(flow)
    title = _INK if health == "unknown" else _COLOURS[health]
    lines = [
        _Line(name, 12, fill=title, bold=True),
        _Line(how, 11, fill=_MUTED, italic=flow.mode is Mode.MANUAL),
        _Line(slo, 11, fill=_MUTED),
    ]
    # An empty line makes room for the tag; `_flow` draws the tag in it.
    return [_Line("", 10), *lines] if highlighted else lines


def _size(lines: list[_Line]) -> Size:
    width = max(max(_width(line) for line in lines), _tag_width() + 4)
    return Size(round(width + 4), sum(_leading(line) for line in lines))


def _leading(line: _Line) -> float:
    return 20.0 if not line.text else round(line.size * 1.4, 1)


def _flow(
    index: int,
    flow: Flow,
    route: Route,
    lines: list[_Line],
    state: Health,
    *,
    highlighted: bool,
) -> list[str]:
    colour = _HIGHLIGHT if highlighted else _COLOURS[state]
    manual = flow.mode is Mode.MANUAL
    classes = ["flow", state, *(["manual"] if manual else []), *(["constraint"] * highlighted)]
    about = f"{flow.name}: {flow.source} → {flow.destination}, {state}"
    dashed = ' stroke-dasharray="7 5"' if manual else ""
    parts = [
        f'<g id="flow-{index}" class="{" ".join(classes)}">',
        f"<title>{_esc(about)}</title>",
        f'<path d="{_path(route)}" fill="none" stroke="{colour}"'
        f' stroke-width="{3.5 if highlighted else 1.8}"{dashed}'
        f' marker-end="url(#arrow-{"highlight" if highlighted else state})"/>',
        *_text_block(route.label, lines),
    ]
    if highlighted:
        parts.append(_tag(route.label.x + (route.label.width - _tag_width()) / 2, route.label.y))
    return [*parts, "</g>"]


def _path(route: Route) -> str:
    """The arrow's path: level bends between the knots, a straight line under the label."""
    knots = list(route.knots)
    (x, y), before = knots[-1], knots[-2][0]
    # The arrowhead is drawn on from where the line ends, so that its tip touches the box.
    knots[-1] = (x - _ARROW if before < x else x + _ARROW, y)
    steps = [f"M{_n(knots[0][0])},{_n(knots[0][1])}"]
    for index, ((x0, y0), (x1, y1)) in enumerate(pairwise(knots)):
        if index == route.straight:
            steps.append(f"L{_n(x1)},{_n(y1)}")
        else:
            mid = _n((x0 + x1) / 2)
            steps.append(f"C{mid},{_n(y0)} {mid},{_n(y1)} {_n(x1)},{_n(y1)}")
    return " ".join(steps)


def _system(
    index: int, workspace: Workspace, name: str, box: Box, *, highlighted: bool
) -> list[str]:
    core = name == workspace.core
    classes = ["system", *(["core"] if core else []), *(["constraint"] * highlighted)]
    title, about = _box_lines(workspace, name)
    stroke = _HIGHLIGHT if highlighted else _INK
    parts = [
        f'<g id="system-{index}" class="{" ".join(classes)}">',
        f"<title>{_esc(f'{name}: {about.text}')}</title>",
        _rect(box, 8, fill="#e8f1fb" if core else "#ffffff", stroke=stroke,
              width=3.0 if highlighted else 1.5 if not core else 2.0),
    ]  # fmt: skip
    if core:
        inner = Box(box.x + 4, box.y + 4, box.width - 8, box.height - 8)
        parts.append(_rect(inner, 5, fill="none", stroke=_INK, width=1.0))
    middle = box.y + box.height / 2
    parts.append(_text(box.x + box.width / 2, middle - 3, title))
    parts.append(_text(box.x + box.width / 2, middle + 14, about))
    if highlighted:
        parts.append(_tag(box.x + box.width - _tag_width() - 8, box.y - 9))
    return [*parts, "</g>"]


def _legend(top: float) -> tuple[list[str], float]:
    """One row explaining the colours, the dashes, the constraint and the core; its width."""
    keys: list[tuple[str, str, str]] = [
        (_COLOURS["ok"], "", "ok: keeps its SLO"),
        (_COLOURS["breach"], "", "breach: misses its SLO"),
        (_COLOURS["unknown"], "", "unknown: not measured yet"),
        (_COLOURS["unknown"], ' stroke-dasharray="7 5"', "manual: done by hand"),
        (_HIGHLIGHT, "", "constraint"),
    ]
    parts, x, y = ['<g class="legend">'], _PAD, top + 14
    for colour, dashed, text in keys:
        width = 3.5 if colour == _HIGHLIGHT else 1.8
        parts.append(
            f'<path d="M{_n(x)},{_n(y - 4)} h30" fill="none" stroke="{colour}"'
            f' stroke-width="{width}"{dashed}/>'
        )
        line = _Line(text, 11, fill=_MUTED)
        parts.append(_text(x + 38, y, line, anchor="start"))
        x += 38 + _width(line) + 22
    core = Box(x, y - 13, 26, 18)
    parts.append(_rect(core, 4, fill="#e8f1fb", stroke=_INK, width=2.0))
    parts.append(_rect(Box(x + 3, y - 10, 20, 12), 2, fill="none", stroke=_INK, width=1.0))
    line = _Line("core system", 11, fill=_MUTED)
    parts.append(_text(x + 34, y, line, anchor="start"))
    return [*parts, "</g>"], x + 34 + _width(line) - _PAD


def _workflows(workspace: Workspace, top: float) -> tuple[list[str], float, float]:
    """The workflows, one line each as a chain of flows, as in the dot note; width, height."""
    if not workspace.workflows:
        return [], 0.0, 0.0
    heading = _Line("workflows", 12, bold=True)
    parts, widths = ['<g class="workflows">', _text(_PAD, top + 14, heading, "start")], [0.0]
    for row, workflow in enumerate(workspace.workflows.values(), start=1):
        about = f" — {workflow.description}" if workflow.description else ""
        name = _Line(f"{workflow.name}:", 11, bold=True)
        chain = _Line(" → ".join(workflow.flows) + about, 11, fill=_MUTED)
        # One text element, so that the renderer, which knows the font, puts the chain after
        # the name. The space stands between the tspans: inside one, renderers may drop it.
        parts.append(
            f'<text x="{_n(_PAD)}" y="{_n(top + 14 + row * 18)}" font-size="11" fill="{_INK}">'
            f'<tspan font-weight="bold">{_esc(name.text)}</tspan> '
            f'<tspan fill="{_MUTED}">{_esc(chain.text)}</tspan></text>'
        )
        widths.append(_width(name) + _width(chain) + 4)
    return [*parts, "</g>"], max(widths), 22 + 18 * len(workspace.workflows)


def _document(workspace: Workspace, width: float, height: float, body: list[str]) -> str:
    w, h = _n(round(width)), _n(round(height))
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}" height="{h}"'
        f' viewBox="0 0 {w} {h}" font-family="{_FONT}">',
        f"<title>{_esc(f'syncwell map of {workspace.name}')}</title>",
        "<defs>",
        *(_marker(key, colour) for key, colour in [*_COLOURS.items(), ("highlight", _HIGHLIGHT)]),
        "</defs>",
        f'<rect width="{w}" height="{h}" fill="#ffffff"/>',
        f'<text x="{_n(_PAD)}" y="{_n(_PAD + 14)}" font-size="18" fill="{_INK}">'
        f'<tspan font-weight="bold">{_esc(workspace.name)}</tspan> '
        f'<tspan dx="8" font-size="12" fill="{_MUTED}">{_esc(_counts(workspace).text)}</tspan>'
        "</text>",
    ]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def _counts(workspace: Workspace) -> _Line:
    systems, flows = len(workspace.systems), len(workspace.flows)
    text = f"workflow map · {_plural(systems, 'system')} · {_plural(flows, 'flow')}"
    return _Line(text, 12, fill=_MUTED)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _marker(key: str, colour: str) -> str:
    return (
        f'<marker id="arrow-{key}" viewBox="0 0 10 10" refX="0" refY="5" markerWidth="{_n(_ARROW)}"'
        f' markerHeight="{_n(_ARROW)}" markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>'
    )


def _text_block(box: Box, lines: list[_Line]) -> list[str]:
    """`lines` centred in `box`, top down."""
    parts, y = [], box.y
    for line in lines:
        y += _leading(line)
        if line.text:
            parts.append(_text(box.x + box.width / 2, y - _leading(line) * 0.28, line))
    return parts


def _text(x: float, y: float, line: _Line, anchor: str = "middle") -> str:
    look = f' font-size="{_n(line.size)}" fill="{line.fill}"'
    look += ' font-weight="bold"' if line.bold else ""
    look += ' font-style="italic"' if line.italic else ""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}"{look}>{_esc(line.text)}</text>'


def _tag(x: float, y: float) -> str:
    """The small orange ``constraint`` tag, its top-left corner at (x, y)."""
    label = _Line("constraint", 10, fill="#ffffff", bold=True)
    pill = _rect(Box(x, y, _tag_width(), 17), 8.5, fill=_HIGHLIGHT, stroke="none", width=0)
    return f"{pill}{_text(x + _tag_width() / 2, y + 12.5, label)}"


def _tag_width() -> float:
    return round(_width(_Line("constraint", 10, bold=True)) + 14)


def _rect(box: Box, radius: float, *, fill: str, stroke: str, width: float) -> str:
    return (
        f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(box.width)}" height="{_n(box.height)}"'
        f' rx="{_n(radius)}" fill="{fill}" stroke="{stroke}" stroke-width="{_n(width)}"/>'
    )


def _width(line: _Line) -> float:
    """About how wide `line` is drawn: erring wide, since the real font is not known here."""
    em = 0.0
    for char in line.text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            em += 1.0
        elif char in "fijlrtI!|.,:;'` ":
            em += 0.33
        elif char in "mwMW@%" or char.isupper():
            em += 0.8
        else:
            em += 0.6
    return em * line.size * (1.08 if line.bold else 1.0)


def _esc(text: str) -> str:
    # Line breaks become spaces: one SVG text element is one line.
    text = _NOT_XML.sub("\ufffd", " ".join(text.splitlines()))
    return html.escape(text, quote=True)


def _n(value: float) -> str:
    """A coordinate in as few characters as exactly: one decimal at most, no ``-0``."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
