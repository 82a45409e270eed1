"""The workflow map: systems as nodes, flows as edges, and its renderings.

from syncwell.map import render_map

print(render_map(workspace, "mermaid"))  # or "text", "dot", "json", "svg"

Every rendering takes the flow or system to emphasise (`highlight`, the constraint) and each
flow's `health` ("ok", "breach" or "unknown").
"""

from __future__ import annotations

from syncwell.map.document import MapDocument, map_document, render_json
from syncwell.map.dot import render_dot
from syncwell.map.formats import MapFormat, render_map
from syncwell.map.graph import build_graph
from syncwell.map.labels import Health
from syncwell.map.mermaid import render_mermaid
from syncwell.map.svg import render_svg
from syncwell.map.text import render_text

__all__ = [
    "Health",
    "MapDocument",
    "MapFormat",
    "build_graph",
    "map_document",
    "render_dot",
    "render_json",
    "render_map",
    "render_mermaid",
    "render_svg",
    "render_text",
]
