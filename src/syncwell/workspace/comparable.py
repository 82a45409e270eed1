"""What `syncwell check` warns about a flow's first sync: a destination it cannot compare with.

A flow's first sync lists its destination's records and writes only those that differ from
the source's (engine/firstsync.py). Where the destination cannot be listed, or its records
cannot be matched (a tool that assigns ids, with no natural key to find them by), the first
sync writes every record the source holds, equal or not: said here, before it happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncwell.connectors.matching import NotComparable, matching_of
from syncwell.workspace.modes import Mode

if TYPE_CHECKING:
    from syncwell.workspace.model import Flow, Workspace

__all__ = ["HOLDING_KINDS", "first_sync_warning"]

HOLDING_KINDS = frozenset({"http", "postgres", "sqlite"})
"""Destinations that hold records, so a first sync could rewrite them. A webhook receiver is
sent events: there is nothing there to compare with, and nothing to warn about."""


def first_sync_warning(flow: Flow, workspace: Workspace) -> str | None:
    """Why `flow`'s first sync will write every record without comparing; None when it
    compares (or sends events, or is manual)."""
    destination = workspace.systems[flow.destination]
    if flow.mode is Mode.MANUAL or destination.kind not in HOLDING_KINDS:
        return None
    found = matching_of(destination.settings, flow.target, flow.destination_spec().key)
    if not isinstance(found, NotComparable):
        return None
    return (
        f"its first sync cannot compare with '{flow.destination}' before writing, so it "
        f"writes every record the source holds, equal or not: {found.reason}. `syncwell "
        "plan` says how many"
    )
