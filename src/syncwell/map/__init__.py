"""The workflow map: systems as nodes, flows as edges, and its renderings.

from syncwell.map import render_text

print(render_text(workspace))
"""

from __future__ import annotations

from syncwell.map.graph import build_graph
from syncwell.map.text import render_text

__all__ = ["build_graph", "render_text"]
