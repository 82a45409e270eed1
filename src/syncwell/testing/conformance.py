"""The connector conformance kit: does a flow bring every change of a live system, once?

Point it at a workspace, one flow whose source is the system under test, and an object that
makes changes in that system through its own API (a `LiveSystem`). It runs the real engine
(`Engine.run(once=True)`) a few times and reads the flow's destination back after each run:

1. **full read**: the first read brings every record the system lists (its own listing when
   the `LiveSystem` also `ListsKeys`, else a second full read by the connector) and nothing
   else;
2. **idle poll**: a read with nothing changed journals nothing and writes nothing;
3. **edit** and **insert**: a record edited and one created through the system's API arrive
   with the next read;
4. **filter self-check**: that read was incremental, raised nothing (the http connector's
   filter check raises when its filter misses records known to have changed) and found both,
   and `syncwell probe`'s filter check (`probe_workspace`) passes from the kit's checkpoint;
5. **delete**: the record it created, deleted through the API, is gone after the next read
   (by a tombstone, a key scan, or a cursorless read);
6. **webhooks**, for a realtime flow of a system with `webhooks:`: with the engine and its
   webhook ingress running, an edit, an insert and a delete each arrive, each as exactly one
   change.

The kit writes to the flow's destination as the flow is configured: point it at a test
database, never at production. It keeps its own state store (a new SQLite file), so it always
starts with a first full read and leaves the workspace's own state alone. The only record it
deletes is the one it created.

    report = await check_source(workspace, "members", MyApi(client))
    assert_conformant(report)
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from syncwell.engine.probe import probe_workspace
from syncwell.testing.observe import Destination, Records, RunCounts, run_once, source_keys
from syncwell.testing.report import AnyCheck, Check, CheckResult, ConformanceReport, Outcome
from syncwell.testing.webhooks import EngineNotReady, WebhookRun
from syncwell.workspace import Flow, Mode, Workspace

__all__ = ["ConformanceOptions", "ListsKeys", "LiveSystem", "check_source"]

_SHOWN = 5  # keys named in a detail at most


@runtime_checkable
class LiveSystem(Protocol):
    """Makes changes in the system under test through its own API.

    Keys are the values of the flow's key field as text (several fields joined with `|`),
    as they appear in the flow's destination.
    """

    async def insert(self) -> str:
        """Create a record; return its key (the id the system assigned, if it assigns one)."""
        ...

    async def edit(self, key: str) -> None:
        """Change a field of the record `key` that the flow moves."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the record `key` (the kit deletes only records it inserted)."""
        ...


@runtime_checkable
class ListsKeys(Protocol):
    """A `LiveSystem` that can also list its keys its own way (the truth for the full read)."""

    async def list_keys(self) -> Collection[str]:
        """Every key the system holds for the flow's stream, by its own listing."""
        ...


@dataclass(frozen=True, slots=True)
class ConformanceOptions:
    """How the kit waits and where it listens.

    Attributes:
        pause_s: seconds between a read and the change made after it, so that a cursor of
            one-second precision (many APIs) gives the change a value the read did not see.
        webhook_port: where the kit serves the webhook ingress during the webhook check
            (`POST http://127.0.0.1:<port>/hooks/<system>`); the system must send there.
            None skips the webhook check.
        webhook_wait_s: how long an event's effect may take to reach the destination.
        settle_s: after an effect arrived, how long the kit waits for duplicate effects.
        state_dir: where the kit's own state store goes; None: a temporary folder.
        checks: the checks to run; the others are reported as skipped. The full read always
            runs (every other check starts from it); edit, insert and the filter check run
            together. Default: all.
    """

    checks: frozenset[Check] = frozenset(Check)
    pause_s: float = 1.1
    webhook_port: int | None = None
    webhook_wait_s: float = 30.0
    settle_s: float = 2.0
    state_dir: Path | None = None


async def check_source(
    workspace: Workspace,
    flow: str,
    system: LiveSystem,
    options: ConformanceOptions | None = None,
) -> ConformanceReport:
    """Run every check against the live system behind `flow`'s source.

    Args:
        workspace: the loaded workspace; only `flow` runs (the others are left out).
        flow: the flow whose source is checked.
        system: makes changes in that source through its own API.
        options: waits and the webhook port; the defaults suit a system on this machine.

    Returns:
        One result per check; `assert_conformant` turns it into a test assertion.
    """
    options = options or ConformanceOptions()
    async with _own_state(workspace, flow, options.state_dir) as kit_workspace:
        run = _Checks(kit_workspace, kit_workspace.flows[flow], system, options)
        await run.all()
        return ConformanceReport(flow, tuple(run.results))


@contextlib.asynccontextmanager
async def _own_state(
    workspace: Workspace, flow: str, state_dir: Path | None
) -> AsyncIterator[Workspace]:
    """The workspace with `flow` alone and a new state store of the kit's own."""
    with tempfile.TemporaryDirectory(prefix="syncwell-conformance-") as temporary:
        folder = state_dir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        state = f"sqlite:///{folder / f'conformance-{time.time_ns()}.db'}"
        yield workspace.model_copy(
            update={"flows": {flow: workspace.flows[flow]}, "workflows": {}, "state": state}
        )


class _Checks:
    """One conformance run: the checks in order, each building on the state the last left."""

    def __init__(
        self, workspace: Workspace, flow: Flow, system: LiveSystem, options: ConformanceOptions
    ) -> None:
        self.workspace, self.flow, self.system, self.options = workspace, flow, system, options
        self.destination = Destination(workspace, flow)
        self.results: list[CheckResult] = []
        self._records: Records = {}
        self._told = ""  # the last run error a detail quoted in full

    def _trouble(self, counts: RunCounts) -> str:
        """The run's error for a detail ("; ..."), quoted in full only the first time."""
        trouble = counts.trouble()
        if not trouble:
            return ""
        if trouble == self._told:
            return "; the same run error as above"
        self._told = trouble
        return f"; {trouble}"

    async def all(self) -> None:
        before = await self.destination.records()
        if not await self._full_read(before):
            # The rest means nothing when the first read did not bring every record.
            for check in list(Check)[1:]:
                self._skip(check, "the full read failed")
            return
        wanted = self.options.checks
        if Check.IDLE_POLL in wanted:
            await self._idle_poll()
        inserted = None
        if wanted & {Check.EDIT, Check.INSERT, Check.FILTER, Check.DELETE}:
            inserted = await self._edit_and_insert()
        if Check.DELETE in wanted and inserted is not None:
            await self._delete(inserted)
        elif Check.DELETE in wanted:
            self._skip(Check.DELETE, "the inserted record never arrived: nothing to delete")
        if Check.WEBHOOKS in wanted:
            await self._webhooks()
        ran = {result.check for result in self.results}
        for check in Check:
            if check not in ran:
                self._skip(check, "not asked for (ConformanceOptions.checks)")
        order: list[AnyCheck] = list(Check)
        self.results.sort(key=lambda result: order.index(result.check))

    def _add(self, check: Check, passed: bool, detail: str, started: float) -> bool:
        outcome: Outcome = "passed" if passed else "failed"
        self.results.append(CheckResult(check, outcome, detail, time.monotonic() - started))
        return passed

    def _skip(self, check: Check, why: str) -> None:
        self.results.append(CheckResult(check, "skipped", why))

    async def _run(self) -> tuple[RunCounts, Records]:
        counts = await run_once(self.workspace, self.flow.name)
        return counts, await self.destination.records()

    async def _full_read(self, before: Records) -> bool:
        started = time.monotonic()
        counts, self._records = await self._run()
        if isinstance(self.system, ListsKeys):
            listed, by = set(await self.system.list_keys()), "the system's own listing"
        else:
            listed, by = await source_keys(self.workspace, self.flow), "a second full read"
        missing = listed - self._records.keys()
        unexpected = self._records.keys() - listed - before.keys()
        detail = (
            f"{len(self._records)} records in the destination, {len(listed)} in {by}; "
            f"journaled {counts.journaled}"
        )
        detail += _keys("; missing", missing) + _keys("; not in the system", unexpected)
        trouble = self._trouble(counts)
        self._add(
            Check.FULL_READ, not (missing or unexpected or trouble), detail + trouble, started
        )
        return not (missing or unexpected)

    async def _idle_poll(self) -> None:
        started = time.monotonic()
        await asyncio.sleep(self.options.pause_s)
        counts, records = await self._run()
        keys = records.keys() | self._records.keys()
        changed = {key for key in keys if records.get(key) != self._records.get(key)}
        detail = f"journaled {counts.journaled}, delivered {counts.delivered}"
        detail += _keys("; destination changed at", changed) if changed else "; destination same"
        trouble = self._trouble(counts)
        passed = not (counts.journaled or counts.delivered or changed or trouble)
        self._add(Check.IDLE_POLL, passed, detail + trouble, started)
        self._records = records

    async def _edit_and_insert(self) -> str | None:
        started = time.monotonic()
        edited = min(self._records) if self._records else await self._seed()
        await asyncio.sleep(self.options.pause_s)
        await self.system.edit(edited)
        inserted = await self.system.insert()
        counts, records = await self._run()
        trouble = self._trouble(counts)
        was, now = self._records.get(edited), records.get(edited)
        edit_seen = now is not None and now != was
        self._add(
            Check.EDIT,
            edit_seen and not trouble,
            f"record {edited!r} {_change(was, now)}; journaled {counts.journaled}{trouble}",
            started,
        )
        insert_seen = inserted in records
        self._add(
            Check.INSERT,
            insert_seen and not trouble,
            f"record {inserted!r} {'arrived' if insert_seen else 'did not arrive'}; "
            f"{len(records)} records in the destination{self._trouble(counts)}",
            started,
        )
        await self._filter(counts, edit_seen and insert_seen, started)
        self._records = records
        return inserted if insert_seen else None

    async def _seed(self) -> str:
        """An empty source gets one record, read once, so that there is something to edit."""
        key = await self.system.insert()
        _, self._records = await self._run()
        return key

    async def _filter(self, counts: RunCounts, found: bool, started: float) -> None:
        if self.flow.cursor is None:
            self._skip(Check.FILTER, "the flow has no cursor: every read is a full read")
            return
        how = "an incremental read" if counts.incremental else "a full read (not incremental)"
        detail = f"{how} {'found' if found else 'missed'} the edit and the insert"
        trouble = self._trouble(counts)
        try:  # `syncwell probe`'s filter check, from the kit's checkpoint
            probed = [
                result
                for result in await probe_workspace(self.workspace)
                if result.flow == self.flow.name and result.check == "filter"
            ]
        except Exception as error:  # reported as what the check saw
            detail += f"; syncwell probe raised {type(error).__name__}: {error}"
            probed = []
            refused = True
        else:
            refused = any(result.status == "fail" for result in probed)
        for result in probed:
            detail += f"; syncwell probe: {result.status}, {result.found}"
        passed = counts.incremental and found and not trouble and not refused
        self._add(Check.FILTER, passed, detail + trouble, started)

    async def _delete(self, key: str) -> None:
        started = time.monotonic()
        await asyncio.sleep(self.options.pause_s)
        await self.system.delete(key)
        counts, records = await self._run()
        gone = key not in records
        detail = f"record {key!r} {'was deleted' if gone else 'is still there'}"
        detail += f"; journaled {counts.journaled}"
        trouble = self._trouble(counts)
        detail += trouble
        if not gone and self.flow.cursor is not None and not _scans(self.flow):
            detail += "; a read by cursor never sees a record that is gone: add `deletes: "
            detail += "{detect: scan}` to the flow, or webhooks for deletes"
        self._add(Check.DELETE, gone and not trouble, detail, started)
        self._records = records

    async def _webhooks(self) -> None:
        source = self.workspace.systems[self.flow.source]
        if self.flow.mode is not Mode.REALTIME or source.webhooks is None:
            self._skip(Check.WEBHOOKS, "the flow is not realtime, or its source sends none")
            return
        port = self.options.webhook_port
        if port is None:
            self._skip(Check.WEBHOOKS, "no webhook_port in the options: nowhere to listen")
            return
        started = time.monotonic()
        key = min(self._records) if self._records else await self._seed()
        was = self._records.get(key)
        made: list[str] = []

        async def insert() -> None:
            made.append(await self.system.insert())

        try:
            async with WebhookRun(self.workspace, self.flow.name, port) as hooks:
                seen = [
                    await self._hooked(
                        hooks, "edit", lambda: self.system.edit(key), lambda r: r.get(key) != was
                    ),
                    await self._hooked(hooks, "insert", insert, lambda r: made[0] in r),
                    await self._hooked(
                        hooks,
                        "delete",
                        lambda: self.system.delete(made[0]),
                        lambda r: made[0] not in r,
                    ),
                ]
        except EngineNotReady as error:
            self._add(Check.WEBHOOKS, False, str(error), started)
            return
        passed = all(effects == 1 and took is not None for _, effects, took in seen)
        detail = "; ".join(
            f"{what}: {effects} change(s) by webhook"
            + (f" in {took:.1f} s" if took is not None else ", its effect never arrived")
            for what, effects, took in seen
        )
        self._add(Check.WEBHOOKS, passed, detail, started)

    async def _hooked(
        self,
        hooks: WebhookRun,
        what: str,
        act: Callable[[], Awaitable[None]],
        arrived: Callable[[Records], bool],
    ) -> tuple[str, int, float | None]:
        """Make one change, wait for its effect, then count the changes webhooks brought."""
        hooked = hooks.hooked()
        started = time.monotonic()
        await act()
        took = await hooks.until(self.destination, arrived, self.options.webhook_wait_s)
        await asyncio.sleep(self.options.settle_s)  # a duplicate effect would show by now
        return what, hooks.hooked() - hooked, None if took is None else took - started


def _scans(flow: Flow) -> bool:
    """Whether the flow scans its source's keys for deletes (`deletes: {detect: scan}`)."""
    deletes = getattr(flow, "deletes", None)
    return deletes is not None and getattr(deletes, "detect", "none") == "scan"


def _keys(label: str, keys: Collection[str]) -> str:
    if not keys:
        return ""
    shown = ", ".join(repr(key) for key in sorted(keys)[:_SHOWN])
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return f"{label}: {len(keys)} ({shown}{more})"


def _change(was: object, now: object) -> str:
    if now is None:
        return "is missing from the destination"
    if now == was:
        return "did not change in the destination"
    assert isinstance(was, dict) and isinstance(now, dict)
    moved = sorted(column for column in now if now.get(column) != was.get(column))
    return f"changed ({', '.join(moved)})"
