"""How the conformance kit sees what a flow did: its destination read back, and one-off runs.

The destination is read with its own connector's source (sqlite and postgres tables, http
streams with a read endpoint), in full, keyed the way the flow keys it. That is the kit's only
view of a flow's effect, so it checks what a user would see, not what the engine believes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncwell.connectors import open_source
from syncwell.engine import Engine
from syncwell.store import open_store
from syncwell.types import JSONValue, Row, StreamSpec
from syncwell.workspace import Flow, Workspace

__all__ = ["Destination", "Records", "RunCounts", "key_text", "run_once", "source_keys"]

Records = Mapping[str, Mapping[str, object]]
"""Records by key text: each record's columns and values."""


def key_text(values: Row) -> str:
    """A key as the kit names it: the value as text, several joined with `|`."""
    return "|".join("" if value is None else str(value) for value in values)


@dataclass(frozen=True, slots=True)
class Destination:
    """A flow's destination table or stream, read back in full with its own connector."""

    workspace: Workspace
    flow: Flow

    async def records(self) -> Records:
        """Every record the destination holds now, by key."""
        system = self.workspace.systems[self.flow.destination]
        spec = self.flow.destination_spec()
        whole = StreamSpec(name=spec.name, key=spec.key, batch_size=spec.batch_size)
        source = await open_source(system.name, system.settings)
        found: dict[str, dict[str, object]] = {}
        try:
            async for batch, _ in source.read(whole, None):
                batch = batch.decoded()
                at = [batch.columns.index(column) for column in spec.key]
                for row in batch.rows:
                    found[key_text(tuple(row[i] for i in at))] = dict(
                        zip(batch.columns, row, strict=True)
                    )
        finally:
            await source.aclose()
        return found


async def source_keys(workspace: Workspace, flow: Flow) -> set[str]:
    """The keys a full read of the flow's source lists (no cursor, no filter)."""
    system = workspace.systems[flow.source]
    spec = flow.source_spec()
    whole = StreamSpec(name=spec.name, key=spec.key, columns=spec.columns, batch_size=500)
    source = await open_source(system.name, system.settings)
    keys: set[str] = set()
    try:
        async for batch, _ in source.read(whole, None):
            at = [batch.columns.index(column) for column in spec.key]
            keys.update(key_text(tuple(row[i] for i in at)) for row in batch.rows)
    finally:
        await source.aclose()
    return keys


@dataclass(frozen=True, slots=True)
class RunCounts:
    """What one run of the flow did, from the engine's own counters.

    Attributes:
        journaled: changes the read took in (the journal's new entries).
        delivered: changes written to the destination.
        error: the last read or write error, empty when none.
        gave_up: the run stopped retrying a failing read or write.
        incremental: the read started from an incremental checkpoint (not a full read).
    """

    journaled: int
    delivered: int
    error: str
    gave_up: bool
    incremental: bool

    def trouble(self) -> str:
        """The run's error in words, or empty when it had none."""
        if self.gave_up:
            return f"the run gave up: {self.error}"
        return f"the run hit an error: {self.error}" if self.error else ""


async def run_once(workspace: Workspace, flow: str) -> RunCounts:
    """Run the workspace once (`Engine.run(once=True)`), and say what `flow` did."""
    incremental = await _phase(workspace, flow) == "incremental"
    engine = Engine(workspace, analyse_every_s=None, grace_s=5.0)
    progress = engine.progress[flow]
    try:
        await engine.run(once=True)
    except Exception as error:  # the run could not even start: that is what the check saw
        return RunCounts(
            progress.read, progress.written, f"{type(error).__name__}: {error}", True,
            incremental,
        )  # fmt: skip
    return RunCounts(
        journaled=progress.read,
        delivered=progress.written,
        error=progress.last_error,
        gave_up=progress.gave_up,
        incremental=incremental,
    )


async def _phase(workspace: Workspace, flow: str) -> JSONValue:
    store = await open_store(workspace.state)
    try:
        checkpoint = await store.journal.checkpoint(flow)
    finally:
        await store.close()
    return None if checkpoint is None else checkpoint.get("phase")
