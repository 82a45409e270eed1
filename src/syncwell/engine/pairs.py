"""Which flows need the engine's record guard, and how: two-way pairs and unguarded targets."""

from __future__ import annotations

from syncwell.engine.guard import GuardPlan
from syncwell.workspace import Flow, Workspace
from syncwell.workspace.pairs import reverse_of

__all__ = ["SELF_GUARDING_KINDS", "guard_plan", "reverse_of"]

SELF_GUARDING_KINDS = frozenset({"postgres", "sqlite"})
"""Destinations whose merge keeps newest-wins by itself (an HTTP API can't)."""


def guard_plan(flow: Flow, workspace: Workspace) -> GuardPlan | None:
    """What the engine must guard for `flow`, or None when the destination does it all."""
    reverse = reverse_of(flow, workspace.flows)
    self_guarding = workspace.systems[flow.destination].kind in SELF_GUARDING_KINDS
    if reverse is None and self_guarding:
        return None
    source_wins = flow.conflict == flow.source
    destination_wins = flow.conflict == flow.destination and reverse is not None
    return GuardPlan(
        source_system=flow.source,
        source_stream=flow.stream,
        destination_system=flow.destination,
        destination_stream=flow.target,
        key=flow.key,
        version=flow.version,
        check_versions=not source_wins,
        check_echoes=reverse is not None,
        remember_values=reverse is not None,
        losing_to=reverse.name if destination_wins and reverse else None,
        losing_key=reverse.key if reverse else (),
        ignored=frozenset(_set_by_each_system(flow, reverse)),
    )


def _set_by_each_system(flow: Flow, reverse: Flow | None) -> set[str]:
    """Version and cursor columns, in both systems' names: each system sets its own."""
    names: set[str] = set()
    for one in (flow, reverse):
        if one is None:
            continue
        for column in (one.cursor, one.version):
            if column is not None:
                names.update({column, one.fields.get(column, column)})
    return names
