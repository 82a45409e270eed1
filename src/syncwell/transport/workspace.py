"""A workspace's transport, as its `transport:` section says."""

from __future__ import annotations

from collections.abc import Sequence

from syncwell.transport.jetstream import JetStreamSettings, JetStreamTransport
from syncwell.workspace import Flow, Workspace

__all__ = ["connect_for"]


async def connect_for(workspace: Workspace, flows: Sequence[Flow]) -> JetStreamTransport | None:
    """The connected transport of `workspace` for `flows` (partitioned by their source key),
    or None when it has none: one process does everything."""
    settings = workspace.transport
    if settings is None:
        return None
    return await JetStreamTransport.connect(
        JetStreamSettings(
            url=settings.url,
            workspace=workspace.name,
            partitions=settings.partitions,
            ack_wait_s=settings.ack_wait_s,
        ),
        {flow.name: flow.source_spec().key for flow in flows},
    )
