"""The source of a `mode: cdc` flow: its table's changes by logical replication.

A CDC flow reads through a `ChangeCapture` of its own (one replication slot per flow), not
through its system's shared source, which the engine opens for polling flows.
"""

from __future__ import annotations

from syncwell.connectors import postgres
from syncwell.connectors.postgres.cdc import ChangeCapture, capture_names
from syncwell.errors import MisconfiguredError
from syncwell.workspace import Flow, Workspace

__all__ = ["capture_source"]


def capture_source(workspace: Workspace, flow: Flow) -> ChangeCapture:
    """The capture of `flow`'s changes (it connects when first read).

    Raises:
        MisconfiguredError: the flow's source is not a PostgreSQL database.
    """
    system = workspace.systems[flow.source]
    if not isinstance(system.settings, postgres.Settings):
        raise MisconfiguredError(
            f"flow '{flow.name}' has `mode: cdc`, which reads PostgreSQL by logical "
            f"replication; its source '{system.name}' is a {system.kind} system: use "
            "mode: poll or realtime",
            system=system.name,
            flow=flow.name,
        )
    chosen = flow.cdc
    names = capture_names(
        workspace.name,
        flow.name,
        slot=None if chosen is None else chosen.slot,
        publication=None if chosen is None else chosen.publication,
    )
    return ChangeCapture(system.name, system.settings, names)
