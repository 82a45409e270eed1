"""`syncwell plan`: what each new flow's first sync will write, before it writes anything.

A flow that has not started yet (no checkpoint) will read its source from the beginning and
compare it with its destination (engine/firstsync.py). The plan does the same reading and
comparing, and counts instead of journaling: creates, updates, deletes and unchanged records
per flow. It writes nothing to any destination and moves no checkpoint; the destination's
listed records go to a scratch store in a temporary folder, not to the workspace's state.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from syncwell.connectors import Source, open_source
from syncwell.connectors.matching import NotComparable
from syncwell.engine.comparison import (
    CompareCounts,
    CompareOptions,
    ComparePlan,
    Comparison,
    compare_plan,
)
from syncwell.engine.policies import RateLimiter
from syncwell.errors import SyncwellError
from syncwell.store import Store, open_store
from syncwell.types import Op, SystemClock
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["FlowPlan", "PlanProgress", "plan_workspace"]

PlanState = Literal["new", "resumes", "syncing", "failed"]

PlanProgress = Callable[[str, Literal["listing", "reading"], int], None]
"""Hears, per flow, how many destination records are listed or source records read so far."""


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """What one flow's next first sync would write.

    Counts are None where the plan cannot tell: a flow already syncing (not read unless
    asked), or a destination that cannot be read (then every record is written: `writes`).
    """

    flow: str
    source: str
    destination: str
    state: PlanState
    """new: no checkpoint yet; resumes: a first sync is under way; syncing: past its first
    sync (compared only with `everything`); failed: the plan could not read (see `note`)."""
    creates: int | None = None
    updates: int | None = None
    deletes: int | None = None
    unchanged: int | None = None
    writes: int | None = None
    """Records that would be written: creates, updates and deletes (or, where the
    destination cannot be read, every record read)."""
    ambiguous: int = 0
    """Records whose natural key several destination records share."""
    only_in_destination: int | None = None
    """Destination records no source record matches: left as they are."""
    read: int = 0
    listed: int | None = None
    note: str = ""


async def plan_workspace(
    workspace: Workspace,
    *,
    flows: Sequence[str] = (),
    everything: bool = False,
    progress: PlanProgress | None = None,
) -> list[FlowPlan]:
    """The plan of each automated flow (or of `flows`), in the file's order.

    Flows past their first sync are only named, unless `everything`: then they are read and
    compared too (what `syncwell resync` would write).
    """
    chosen = [
        flow
        for flow in workspace.flows.values()
        if flow.mode is not Mode.MANUAL and (not flows or flow.name in flows)
    ]
    async with AsyncExitStack() as stack:
        store = await open_store(workspace.state)
        stack.push_async_callback(store.close)
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="syncwell-plan-"))
        scratch = await open_store(f"sqlite:///{Path(folder) / 'plan.db'}")
        stack.push_async_callback(scratch.close)
        plans = []
        for flow in chosen:
            state = await _state(store, flow)
            if state == "syncing" and not everything:
                backlog = (await store.journal.backlog()).get(flow.name, (0, 0, None))[1]
                note = f"past its first sync; {backlog:,} changes wait in the journal"
                plans.append(FlowPlan(flow.name, flow.source, flow.destination, state, note=note))
                continue
            try:
                plans.append(await _plan_flow(workspace, flow, state, store, scratch, progress))
            except SyncwellError as error:
                failed = FlowPlan(
                    flow.name, flow.source, flow.destination, "failed", note=str(error)
                )
                plans.append(failed)
        return plans


async def _state(store: Store, flow: Flow) -> PlanState:
    checkpoint = await store.journal.checkpoint(flow.name)
    if checkpoint is None:
        return "new"
    first = await store.first_syncs.state(flow.name)
    return "resumes" if first is not None and first.finished_at is None else "syncing"


async def _plan_flow(
    workspace: Workspace,
    flow: Flow,
    state: PlanState,
    store: Store,
    scratch: Store,
    progress: PlanProgress | None,
) -> FlowPlan:
    """Read the flow's source from the beginning and compare it, counting, writing nothing."""
    how = compare_plan(flow, workspace)
    clock = SystemClock()
    source = await _open(workspace, flow.source, clock)
    try:
        comparison = None
        if isinstance(how, ComparePlan):
            comparison = await _comparison(workspace, how, store, scratch, progress)
        counts, read = CompareCounts(), 0
        spec = dataclasses.replace(flow.source_spec(), copy_text=False)
        reader = source.read(spec, None)
        try:
            async for batch, _ in reader:
                read += len(batch)
                if comparison is not None:
                    await comparison.screen(batch)
                else:
                    decoded = batch.decoded()
                    deletes = sum(decoded.op(i) is Op.DELETE for i in range(len(decoded)))
                    counts.deletes += deletes
                    counts.creates += len(decoded) - deletes
                if progress is not None:
                    progress(flow.name, "reading", read)
        finally:
            await reader.aclose()  # type: ignore[attr-defined]
    finally:
        await source.aclose()
    if comparison is None:
        assert isinstance(how, NotComparable)
        return FlowPlan(
            flow.name, flow.source, flow.destination, state,
            deletes=counts.deletes, writes=counts.creates + counts.deletes, read=read,
            note=f"every record is written: {how.reason}",
        )  # fmt: skip
    await comparison.finish()
    found = comparison.counts
    return FlowPlan(
        flow.name, flow.source, flow.destination, state,
        creates=found.creates, updates=found.updates, deletes=found.deletes,
        unchanged=found.unchanged,
        writes=found.creates + found.updates + found.deletes + found.ambiguous,
        ambiguous=found.ambiguous, only_in_destination=found.unmatched, read=read,
        listed=found.listed, note=_note(found),
    )  # fmt: skip


async def _comparison(
    workspace: Workspace,
    how: ComparePlan,
    store: Store,
    scratch: Store,
    progress: PlanProgress | None,
) -> Comparison:
    """A comparison that lists into the scratch store and only reads the identity map."""
    await scratch.first_syncs.begin(how.flow, at=SystemClock().wall())
    began = await scratch.first_syncs.state(how.flow)
    assert began is not None

    async def opener() -> Source:
        return await _open(workspace, how.destination, SystemClock())

    def listed(count: int) -> None:
        if progress is not None:
            progress(how.flow, "listing", count)

    options = CompareOptions(learn_ids=False, strict=True, on_listed=listed)
    return Comparison(
        how, scratch.first_syncs, store.identities, opener, SystemClock(), began, options
    )


async def _open(workspace: Workspace, name: str, clock: SystemClock) -> Source:
    system = workspace.systems[name]
    # The system's own budget: a plan of a large flow must not earn the tool's 429s.
    return await open_source(name, system.settings, RateLimiter(system.rate_limit, clock))


def _note(counts: CompareCounts) -> str:
    if counts.ambiguous:
        return (
            f"{counts.ambiguous:,} records share their natural key with several destination "
            "records: their writes are dead letters until those are merged"
        )
    return ""
