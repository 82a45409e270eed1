"""Webhooks in: turn a verified event into changes, and journal them in group commits.

The HTTP layer verifies the signature over the raw bytes and parses the JSON; from there this
module decides what the event means (which stream, upsert or delete, which flows read it) and
hands it to the committer. The committer writes every event waiting at that moment in one
transaction, so under load an fsync is shared by many webhooks, and answers each request only
once its event is durable (DESIGN.md, semantics 1).
"""

from __future__ import annotations

import asyncio
import fnmatch
import functools
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from syncwell.connectors.http.records import MISSING, dig
from syncwell.engine.guard import key_text
from syncwell.errors import StoreError, SyncwellError
from syncwell.store import InboundChange, InboundEvent, Inbox
from syncwell.types import Op
from syncwell.versions import comparable
from syncwell.workspace import Flow, Mode, Workspace
from syncwell.workspace.webhooks import WebhookIntake

__all__ = ["EventRefusedError", "EventRouter", "GroupCommitter", "Receipt"]

log = structlog.get_logger("syncwell.webhooks")


class EventRefusedError(SyncwellError):
    """A verified event that can't be taken in as it is; the sender gets a 400 with `reason`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)

    def __reduce__(self) -> tuple[object, ...]:
        return (EventRefusedError, (self.reason,))


@dataclass(frozen=True, slots=True)
class Receipt:
    """What became of an event: `accepted`, `duplicate` or `ignored` (no flow reads it)."""

    status: str
    event_id: str
    changes: int = 0


class EventRouter:
    """Knows, per system, which realtime flows read which stream, and how to read an event."""

    def __init__(self, workspace: Workspace) -> None:
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
        self, system: str, event_id: str | None, observed_at: float, body: object
    ) -> InboundEvent:
        """The changes that `body` brings (none when no flow reads its stream).

        Raises:
            EventRefusedError: the body is not an event this system's settings can read.
        """
        intake = self.intakes[system]
        if not isinstance(body, dict):
            raise EventRefusedError(f"the body must be a JSON object, got {type(body).__name__}")
        if intake.event_id is not None or event_id is None:
            event_id = _text_at(body, intake.event_id or "id", "event id")
        kind = _text_at(body, intake.event_type, "event type")
        stream, op = self._meaning(system, kind)
        flows = self._readers.get((system, stream), []) if stream is not None else []
        if not flows:
            return InboundEvent(system, event_id, observed_at)
        record = _at(body, intake.record)
        if not isinstance(record, dict):
            raise EventRefusedError(f"'{intake.record}' must hold the changed record as an object")
        changes = [_change(flow, record, op) for flow in flows]
        return InboundEvent(system, event_id, observed_at, changes)

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one router per engine, few event types
    def _meaning(self, system: str, kind: str) -> tuple[str | None, Op]:
        """The stream an event type changes and how; patterns are matched once per type."""
        intake = self.intakes[system]
        stream = next((s for p, s in intake.streams.items() if fnmatch.fnmatchcase(kind, p)), None)
        deletes = any(fnmatch.fnmatchcase(kind, pattern) for pattern in intake.deletes)
        return stream, Op.DELETE if deletes else Op.UPSERT


def _fail(group: Sequence[tuple[InboundEvent, asyncio.Future[bool]]], error: Exception) -> None:
    for _, done in group:
        if not done.done():
            done.set_exception(error)


def _change(flow: Flow, record: Mapping[str, object], op: Op) -> InboundChange:
    columns = tuple(flow.fields) or tuple(record)
    row = tuple(_at(record, column) for column in columns)
    missing = [column for column in flow.key if _at(record, column) is None]
    if missing:
        raise EventRefusedError(
            f"the record has no value for the key {', '.join(missing)} of flow '{flow.name}'"
        )
    nested = [c for c in flow.key if isinstance(_at(record, c), dict | list)]
    if nested:
        raise EventRefusedError(
            f"the key {', '.join(nested)} of flow '{flow.name}' must be text or a number, "
            "not an object or a list"
        )
    if flow.version and flow.version not in columns:
        columns, row = (*columns, flow.version), (*row, _at(record, flow.version))
    if any(column not in columns for column in flow.key):
        columns, row = (*columns, *flow.key), (*row, *(_at(record, c) for c in flow.key))
    key = tuple(_at(record, column) for column in flow.key)
    version = comparable(_at(record, flow.version)) if flow.version else None
    return InboundChange(
        flow=flow.name,
        stream=flow.stream,
        columns=columns,
        row=row,
        op=op,
        key=key_text(key[0] if len(key) == 1 else key),
        version=version,
    )


def _at(document: Mapping[str, object], path: str) -> object:
    """The value at a dotted path (`properties.email`), or None where the path ends early.

    The same paths as the http connector reads records by, so a flow's `fields` mean one
    thing whether its records come by poll or by webhook.
    """
    value = dig(document, path)
    return None if value is MISSING else value


def _text_at(document: Mapping[str, object], path: str, what: str) -> str:
    value = _at(document, path)
    if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
        raise EventRefusedError(f"the {what} must be text or a number at '{path}', got {value!r}")
    return str(value)


class GroupCommitter:
    """Writes events to the inbox in groups; each `submit` returns once its event is durable.

    Args:
        inbox: the store's webhook inbox.
        dedupe_for_s: per system, how long event ids are kept.
        on_journaled: called with the changes each flow got (wakes their delivery).
        max_group: the most events in one transaction.
    """

    def __init__(
        self,
        inbox: Inbox,
        dedupe_for_s: Mapping[str, float],
        on_journaled: Callable[[Counter[str]], None],
        *,
        max_group: int = 1000,
    ) -> None:
        self._inbox = inbox
        self._dedupe_for_s = dedupe_for_s
        self._on_journaled = on_journaled
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
        self._on_journaled(
            Counter(c.flow for e, new in zip(events, fresh, strict=True) if new for c in e.changes)
        )

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
