"""What one process does in a run: everything (one process), or a part of a distributed run."""

from __future__ import annotations

from typing import Literal

from syncwell.workspace import Workspace

__all__ = ["Role", "role_of"]

Role = Literal["all", "intake", "deliver"]
"""all: read and deliver (no transport); intake: read and relay to the transport
(`syncwell run` with one); deliver: deliver from the transport (`syncwell worker`)."""


def role_of(workspace: Workspace, *, worker: bool) -> Role:
    """This process's role for `workspace`.

    Raises:
        ValueError: a worker for a workspace without a transport, which has nothing to take.
    """
    if workspace.transport is None:
        if worker:
            raise ValueError(
                "a worker delivers from a transport, and this workspace has none: add "
                "`transport: {url: nats://127.0.0.1:4222}` and a PostgreSQL `state:` "
                "(docs/distributed.md), or run everything in one process with `syncwell run`"
            )
        return "all"
    return "deliver" if worker else "intake"
