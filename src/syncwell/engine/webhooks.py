"""Webhooks in: turn a verified event into changes, and journal them in group commits.

The HTTP layer verifies the signature over the raw bytes and parses the JSON; from there this
module decides what the event means (which stream, upsert or delete, which flows read it) and
hands it to the committer. The committer writes every event waiting at that moment in one
transaction, so under load an fsync is shared by many webhooks, and answers each request only
once its event is durable (DESIGN.md, semantics 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import functools
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from syncwell.engine.changetimes import ChangeTimes
from syncwell.engine.guard import key_text
from syncwell.engine.inbound import (
    EventRefusedError,
    at,
    event_id_of,
    read_event,
    stream_of,
    text_at,
)
from syncwell.engine.version_kinds import FlowVersionKinds
from syncwell.errors import StoreError, StoreRefusedError, SyncwellError
from syncwell.store import InboundChange, InboundEvent, Inbox
from syncwell.store.inbox import Reread
from syncwell.types import Op
from syncwell.versions import comparable
from syncwell.workspace import Flow, Mode, Workspace
from syncwell.workspace.webhooks import WebhookIntake

__all__ = ["EventRefusedError", "EventRouter", "GroupCommitter", "Receipt"]

log = structlog.get_logger("syncwell.webhooks")


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of an event: `accepted`, `duplicate` or `ignored` (no flow reads it)."""

    status: str
    event_id: str
    changes: int = 0


class EventRouter:
    """Knows, per system, which realtime flows read which stream, and how to read an event.

    Args:
        workspace: the workspace.
        times: when the changes events bring happened (engine/changetimes.py); without it,
            an event's changes are as old as its signature, or its arrival.
    """

    def __init__(self, workspace: Workspace, times: ChangeTimes | None = None) -> None:
        self.times = times
        # A version must be a time or a number, of one kind per flow (engine/version_kinds.py).
        self.versions = FlowVersionKinds()
        self.intakes: dict[str, WebhookIntake] = {
            name: system.webhooks
            for name, system in workspace.systems.items()
            if system.webhooks is not None
        }
        self._readers: dict[tuple[str, str], list[Flow]] = {}
        for flow in workspace.flows.values():
            if flow.mode is Mode.REALTIME and flow.source in self.intakes:
                self._readers.setdefault((flow.source, flow.stream), []).append(flow)

    def event(
        self,
        system: str,
        event_id: str | None,
        observed_at: float,
        body: object,
        raw: bytes = b"",
    ) -> InboundEvent:
        """The changes that `body` brings (none when no flow reads its stream).

        Args:
            system: the system that sent it.
            event_id: the id the request's headers carry, if any.
            observed_at: when it was signed, else received (Unix seconds); the event's changes
                are as old as their records' cursor values say, where those are times.
            body: the parsed JSON body.
            raw: the raw body, for `event_id: "@body"`.

        Raises:
            EventRefusedError: the body is not an event this system's settings can read.
        """
        intake = self.intakes[system]
        if not isinstance(body, dict):
            raise EventRefusedError(f"the body must be a JSON object, got {type(body).__name__}")
        kind = text_at(body, intake.event_type, "event type")
        stream = stream_of(intake, body, kind)
        flows = self._readers.get((system, stream), []) if stream is not None else []
        if not flows:
            # Nobody reads it: acknowledged (202) even without an id, as senders' own
            # notices come (Slack's app_rate_limited); the body's digest names it then.
            with contextlib.suppress(EventRefusedError):
                return InboundEvent(system, event_id_of(intake, body, raw, event_id), observed_at)
            return InboundEvent(system, "sha256:" + hashlib.sha256(raw).hexdigest(), observed_at)
        event_id = event_id_of(intake, body, raw, event_id)
        op = self._op(system, kind)
        reading = read_event(intake, body, [c for flow in flows for c in flow.key])
        if reading.names_nothing:
            if op is Op.DELETE:
                log.warning(
                    "a delete event names no records: only a key scan will find what went",
                    system=system,
                    event_id=event_id,
                )
            rereads = [Reread(flow.name, None) for flow in flows]
            return InboundEvent(system, event_id, observed_at, rereads=rereads)
        if reading.keys:
            return _thin(system, event_id, observed_at, flows, op, reading.keys)
        learned = self.versions.check(flows, reading.rows, event_id)
        changes = [_change(flow, row, op) for row in reading.rows for flow in flows]
        if self.times is not None:
            observed_at = self.times.event(flows, reading.rows, op, observed_at)
        self.versions.keep(learned)  # only an event read in full sets its flows' kind
        return InboundEvent(system, event_id, observed_at, changes)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one router per engine, few event types
    def _op(self, system: str, kind: str) -> Op:
        """Whether an event type deletes; patterns are matched once per type."""
        deletes = self.intakes[system].deletes
        return Op.DELETE if any(fnmatch.fnmatchcase(kind, p) for p in deletes) else Op.UPSERT


def _thin(
    system: str,
    event_id: str,
    observed_at: float,
    flows: Sequence[Flow],
    op: Op,
    keys: Sequence[object],
) -> InboundEvent:
    """An event with keys only: deletes need nothing more; upserts are read again."""
    rows = [_key_row(flow, key) for flow in flows for key in keys]
    if op is Op.DELETE:
        changes = [_change(flow, row, op) for flow, row in rows]
        return InboundEvent(system, event_id, observed_at, changes)
    rereads = [Reread(flow.name, _change(flow, row, op).key) for flow, row in rows]
    return InboundEvent(system, event_id, observed_at, rereads=rereads)


def _key_row(flow: Flow, key: object) -> tuple[Flow, Mapping[str, object]]:
    if isinstance(key, dict):
        return flow, key
    if len(flow.key) > 1:
        raise EventRefusedError(
            f"flow '{flow.name}' has the key ({', '.join(flow.key)}): a thin event's keys "
            "must be objects holding each of them"
        )
    return flow, {flow.key[0]: key}


def _fail(group: Sequence[tuple[InboundEvent, asyncio.Future[bool]]], error: Exception) -> None:
    for _, done in group:
        if not done.done():
            done.set_exception(error)


def _change(flow: Flow, record: Mapping[str, object], op: Op) -> InboundChange:
    columns = tuple(flow.fields) or tuple(record)
    row = tuple(at(record, column) for column in columns)
    missing = [column for column in flow.key if at(record, column) is None]
    if missing:
        raise EventRefusedError(
            f"the record has no value for the key {', '.join(missing)} of flow '{flow.name}'"
        )
    nested = [c for c in flow.key if isinstance(at(record, c), dict | list)]
    if nested:
        raise EventRefusedError(
            f"the key {', '.join(nested)} of flow '{flow.name}' must be text or a number, "
            "not an object or a list"
        )
    if flow.version and flow.version not in columns:
        columns, row = (*columns, flow.version), (*row, at(record, flow.version))
    if any(column not in columns for column in flow.key):
        columns, row = (*columns, *flow.key), (*row, *(at(record, c) for c in flow.key))
    key = tuple(at(record, column) for column in flow.key)
    version = comparable(at(record, flow.version)) if flow.version else None
    return InboundChange(
        flow=flow.name,
        stream=flow.stream,
        columns=columns,
        row=row,
        op=op,
        key=key_text(key[0] if len(key) == 1 else key),
        version=version,
    )


class GroupCommitter:
    """Writes events to the inbox in groups; each `submit` returns once its event is durable.

    Args:
        inbox: the store's webhook inbox.
        dedupe_for_s: per system, how long event ids are kept.
        on_journaled: called with the changes each flow got (wakes their delivery).
        on_reread: called with the flows that thin events asked to read again (wakes their
            intake, so the sender's change arrives now, not at the next interval).
        max_group: the most events in one transaction.
    """

    def __init__(
        self,
        inbox: Inbox,
        dedupe_for_s: Mapping[str, float],
        on_journaled: Callable[[Counter[str]], None],
        *,
        on_reread: Callable[[set[str]], None] | None = None,
        max_group: int = 1000,
    ) -> None:
        self._inbox = inbox
        self._dedupe_for_s = dedupe_for_s
        self._on_journaled = on_journaled
        self._on_reread = on_reread
        self._max_group = max_group
        self._queue: asyncio.Queue[tuple[InboundEvent, asyncio.Future[bool]]] = asyncio.Queue()
        self._last_prune = 0.0
        self._closed = False

    async def submit(self, event: InboundEvent) -> bool:
        """Journal `event`; True if new, False if its id was taken in before.

        Raises:
            StoreError: the store could not commit, or the engine is stopping; nothing of
                the event was kept.
        """
        if self._closed:
            raise StoreError("syncwell is stopping; the event was not taken in")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, done))
        return await done

    async def run(self, stop: asyncio.Event) -> None:
        """Commit groups until `stop` is set; what is queued then is still committed."""
        try:
            await self._run(stop)
        finally:
            self._closed = True
            while not self._queue.empty():  # only when cancelled: refuse, never leave hanging
                _, done = self._queue.get_nowait()
                done.set_exception(StoreError("syncwell stopped before the event was taken in"))

    async def _run(self, stop: asyncio.Event) -> None:
        while not (stop.is_set() and self._queue.empty()):
            getting = asyncio.ensure_future(self._queue.get())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not getting.done():
                getting.cancel()
                continue
            group = [getting.result()]
            while len(group) < self._max_group and not self._queue.empty():
                group.append(self._queue.get_nowait())
            await self._commit(group)
            await self._prune()

    async def _commit(self, group: Sequence[tuple[InboundEvent, asyncio.Future[bool]]]) -> None:
        events = [event for event, _ in group]
        try:
            fresh = await self._inbox.take(events)
        except StoreRefusedError as error:
            if len(group) > 1:  # one event the store refuses must not fail those beside it
                for item in group:
                    await self._commit([item])
                return
            log.warning("the store refused a webhook event", error=str(error))
            _fail(group, EventRefusedError(f"the event cannot be stored: {error}"))
            return
        except StoreError as error:
            _fail(group, error)  # a 503: the senders retry, nothing of theirs was kept
            return
        except Exception as error:
            if len(group) > 1:  # one event the store can't take must not fail the others
                for item in group:
                    await self._commit([item])
                return
            log.warning("a webhook event could not be journaled", error=repr(error))
            _fail(group, EventRefusedError(f"the event cannot be stored: {error}"))
            return
        except BaseException:
            # Cancelled by a stop mid-commit: every waiting request still gets its answer,
            # a 503 the sender retries (dedupe absorbs a commit that did land).
            _fail(group, StoreError("syncwell stopped while journaling the event"))
            raise
        for (_, done), new in zip(group, fresh, strict=True):
            if not done.done():
                done.set_result(new)
        taken = [event for event, new in zip(events, fresh, strict=True) if new]
        self._on_journaled(Counter(c.flow for e in taken for c in e.changes))
        asked = {reread.flow for event in taken for reread in event.rereads}
        if asked and self._on_reread is not None:
            self._on_reread(asked)

    async def _prune(self) -> None:
        now = time.time()
        if now - self._last_prune < 60 or not self._dedupe_for_s:
            return
        self._last_prune = now
        # One cutoff for all systems: the longest period, so no system forgets early.
        try:
            await self._inbox.forget_before(now - max(self._dedupe_for_s.values()))
        except SyncwellError as error:
            log.warning("could not forget old webhook ids", error=str(error))
