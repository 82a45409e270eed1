"""Two-way pairs: the flow that reads back what another flow writes.

Here rather than in the engine because the workspace needs it too: what a flow never sends to
a tool depends on the cursor its reverse flow reads that tool by (workspace/unsent.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncwell.workspace.model import Flow

__all__ = ["reverse_of"]


def reverse_of(flow: Flow, flows: Mapping[str, Flow]) -> Flow | None:
    """The flow that reads back what `flow` writes: the other direction of a two-way sync."""
    for other in flows.values():
        if (
            other.source == flow.destination
            and other.destination == flow.source
            and other.stream == flow.target
        ):
            return other
    return None
