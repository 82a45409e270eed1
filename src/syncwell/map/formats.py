"""One entry point for every rendering of the map, so that `syncwell map` stays one call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from syncwell.map.document import render_json
from syncwell.map.dot import render_dot
from syncwell.map.labels import Health
from syncwell.map.mermaid import render_mermaid
from syncwell.map.svg import render_svg
from syncwell.map.text import render_text
from syncwell.workspace import Workspace

__all__ = ["MapFormat", "render_map"]

MapFormat = Literal["text", "mermaid", "dot", "json", "svg"]
"""The renderings `render_map` draws."""

_RENDERINGS = {
    "text": render_text,
    "mermaid": render_mermaid,
    "dot": render_dot,
    "json": render_json,
    "svg": render_svg,
}


def render_map(
    workspace: Workspace,
    fmt: MapFormat = "text",
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """`workspace` drawn as `fmt`.

    Every format shows `highlight` (the constraint: a flow or a system; a name that is neither
    is ignored) and each flow's `health` (flows not in it are ``unknown``).
    """
    return _RENDERINGS[fmt](workspace, highlight=highlight, health=health)
