"""The source of a `mode: cdc` flow, and its replication slot seen from outside a run.

A CDC flow reads through a `ChangeCapture` of its own (one replication slot per flow), not
through its system's shared source, which the engine opens for polling flows.
`slot_reports`, `drop_slot` and `reset_capture` serve `syncwell cdc status`, `drop` and `reset`.
"""

from __future__ import annotations

import asyncpg

from syncwell.connectors import postgres
from syncwell.connectors.postgres.cdc import (
    CaptureNames,
    ChangeCapture,
    SlotReport,
    capture_names,
    drop_capture,
    slot_report,
)
from syncwell.connectors.postgres.errors import translated
from syncwell.engine.admin import resync
from syncwell.errors import MisconfiguredError
from syncwell.workspace import Flow, Mode, Workspace

__all__ = [
    "capture_source",
    "cdc_flows",
    "drop_slot",
    "flow_capture_names",
    "reset_capture",
    "slot_reports",
]


def flow_capture_names(workspace: Workspace, flow: Flow) -> CaptureNames:
    """The replication slot and publication `flow` streams through: the ones its `cdc:`
    names, or syncwell's own for the workspace and flow."""
    chosen = flow.cdc
    return capture_names(
        workspace.name,
        flow.name,
        slot=None if chosen is None else chosen.slot,
        publication=None if chosen is None else chosen.publication,
    )


def _names(workspace: Workspace, flow: Flow) -> tuple[postgres.Settings, CaptureNames]:
    system = workspace.systems[flow.source]
    if not isinstance(system.settings, postgres.Settings):
        raise MisconfiguredError(
            f"flow '{flow.name}' has `mode: cdc`, which reads PostgreSQL by logical "
            f"replication; its source '{system.name}' is a {system.kind} system: use "
            "mode: poll or realtime",
            system=system.name,
            flow=flow.name,
        )
    return system.settings, flow_capture_names(workspace, flow)


def capture_source(workspace: Workspace, flow: Flow) -> ChangeCapture:
    """The capture of `flow`'s changes (it connects when first read).

    Raises:
        MisconfiguredError: the flow's source is not a PostgreSQL database.
    """
    settings, names = _names(workspace, flow)
    return ChangeCapture(flow.source, settings, names, flow.name)


def cdc_flows(workspace: Workspace) -> list[Flow]:
    """The workspace's `mode: cdc` flows, in file order."""
    return [flow for flow in workspace.flows.values() if flow.mode is Mode.CDC]


async def slot_reports(workspace: Workspace) -> dict[str, tuple[str, SlotReport]]:
    """Each CDC flow's slot name and how it stands."""
    reports: dict[str, tuple[str, SlotReport]] = {}
    for flow in cdc_flows(workspace):
        settings, names = _names(workspace, flow)
        with translated(flow.source, flow.name):
            connection = await asyncpg.connect(
                settings.dsn.get_secret_value(), timeout=settings.connect_timeout_s
            )
            try:
                reports[flow.name] = (names.slot, await slot_report(connection, names.slot))
            finally:
                await connection.close()
    return reports


async def drop_slot(workspace: Workspace, flow: Flow) -> tuple[str, bool]:
    """Drop `flow`'s slot (and syncwell's publication for it); its name and whether a slot
    was there to drop."""
    settings, names = _names(workspace, flow)
    with translated(flow.source, flow.name):
        connection = await asyncpg.connect(
            settings.dsn.get_secret_value(), timeout=settings.connect_timeout_s
        )
        try:
            return names.slot, await drop_capture(connection, names, flow.source)
        finally:
            await connection.close()


async def reset_capture(workspace: Workspace, flow: Flow) -> tuple[str, bool]:
    """Start `flow` over from a new snapshot: drop its slot (and syncwell's publication, made
    again by the next run), then clear its checkpoint; the slot's name and whether there was
    one. The flow's key ledger stays: it is what finds the rows deleted meanwhile
    (engine/cdckeys.py).

    Raises:
        MisconfiguredError: a run streams from the slot: stop it first.
    """
    slot, dropped = await drop_slot(workspace, flow)
    await resync(workspace, [flow.name])
    return slot, dropped
