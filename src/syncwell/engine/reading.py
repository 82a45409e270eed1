"""One flow's intake loop: read its source every interval, and what goes with each read.

Each read journals what it finds (engine/intake.py). Around it: the retries of a read that
failed, the reconciliation count of a realtime flow, the re-reads that thin webhook events
asked for (engine/rereads.py), and the key scans of a flow with `deletes: {detect: scan}`
(engine/keyscan.py). The engine builds one `FlowReading` per flow it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from dataclasses import dataclass

import structlog

from syncwell.connectors import KeyLister, Source
from syncwell.engine.cdckeys import CaptureKeys
from syncwell.engine.changetimes import ChangeTimes
from syncwell.engine.firstsync import FirstSync
from syncwell.engine.intake import count_pass, take_in
from syncwell.engine.keyscan import scan_keys
from syncwell.engine.ledger import FlowLedger
from syncwell.engine.patience import stuck_on
from syncwell.engine.policies import backoff_delay
from syncwell.engine.progress import FlowProgress
from syncwell.engine.readmemory import ReadMemory, keep_for
from syncwell.engine.reconcile import Reconciler
from syncwell.engine.rereads import Asked, RereadDesk
from syncwell.engine.waiting import sleep_or_stop
from syncwell.errors import ConnectorError, IntegrationFatalError, StoreError, SyncwellError
from syncwell.measure import MinuteRecorder
from syncwell.store import Store
from syncwell.types import Clock, StreamSpec
from syncwell.workspace import Flow, Mode, RetryPolicy

__all__ = ["FailureNotes", "FlowReading", "note_failure"]

log = structlog.get_logger("syncwell.engine")


@dataclass(slots=True)
class FlowReading:
    """What one flow's intake loop needs from its engine.

    Attributes:
        flow: the flow.
        source: its source, connected.
        spec: what the source reads (COPY text or rows, as the engine chose).
        store: the state store.
        progress: the flow's live counters.
        arrived: set when changes were journaled (wakes delivery).
        clock: where time comes from.
        recorder: the per-minute measurements.
        rereads: the thin webhook events' re-reads.
        retry: the source system's retry policy (for failed reads).
        reconciled: whether webhooks feed the flow, so its reads count what they missed.
        down_after: failed reads in a row that show the source down (its breaker's
            `failure_threshold`; measure/answers.py).
        first_sync: compares the flow's first read with its destination (engine/firstsync.py).
        times: when the changes it reads happened (engine/changetimes.py), for freshness.
        memory: what its incremental reads journaled lately (engine/readmemory.py), made at
            the first read of a flow with a cursor, so a re-read is not journaled again.
        captured_keys: a `mode: cdc` flow's keys (engine/cdckeys.py), made at its first read.
    """

    flow: Flow
    source: Source
    spec: StreamSpec
    store: Store
    progress: FlowProgress
    arrived: asyncio.Event
    clock: Clock
    recorder: MinuteRecorder
    rereads: RereadDesk
    retry: RetryPolicy
    reconciled: bool
    down_after: int = 5
    first_sync: FirstSync | None = None
    times: ChangeTimes | None = None
    memory: ReadMemory | None = None
    captured_keys: CaptureKeys | None = None

    async def run(self, stop: asyncio.Event, *, once: bool) -> None:
        """Read until `stop` is set; with `once`, until caught up (or given up)."""
        flow, progress, store = self.flow, self.progress, self.store
        rng = random.Random()  # noqa: S311 - jitter, not security
        failures = 0
        if flow.scans_keys or flow.passes_by_read:  # only passes hold deletes back
            with contextlib.suppress(StoreError):  # held deletes stay an incident on restart
                progress.deletes_held = (await self._ledger().begin()).held
        while not stop.is_set():
            asked = await self.rereads.before_read(store.inbox, flow)
            read_before = progress.read
            if self.times is not None:
                self.times.read_started(flow.name)
            try:
                incremental = await self._read(stop, asked)
            except Exception as error:
                failures += 1
                await self._failed(error)
                if once and failures >= self.retry.max_attempts:
                    progress.gave_up = True  # a one-off run ends; what was read is journaled
                    progress.stuck = stuck_on(
                        error, stage="read", system=flow.source, attempts=failures
                    )
                    break
                delay = backoff_delay(self.retry, min(failures - 1, 30), rng=rng)
                await sleep_or_stop(self.clock, delay, stop)
                continue
            failures = 0
            progress.read_refused = None
            if not stop.is_set():  # a read cut short by a stop fulfils nothing
                await self.rereads.after_read(store.inbox, asked)
                if self.times is not None:  # what it did not find happened after it began
                    self.times.read_finished(flow.name)
            progress.reads += 1
            progress.last_read_at = self.clock.wall()
            taken = progress.read - read_before
            self.recorder.took_in(flow.name, taken, backfill=not incremental)
            self.recorder.read(flow.name, progress.last_read_at)
            if flow.scans_keys and incremental:
                await self._scan_if_due(stop)
            if once and (incremental or flow.cursor is None):
                break
            if once or flow.mode is Mode.CDC:  # a CDC read waits for changes itself
                continue
            interval = flow.interval.total_seconds() if flow.interval else 60.0
            await self.rereads.sleep(flow.name, self.clock, interval, stop)
        progress.intake_done = True
        self.arrived.set()

    async def _read(self, stop: asyncio.Event, asked: Asked | None) -> bool:
        """One read; whether it was incremental. `asked` notes the keys it brings."""
        flow, store = self.flow, self.store
        reconciler = self._reconciler()
        incremental = await take_in(
            flow.name,
            self.spec,
            self.source,
            store.journal,
            self.progress,
            stop=stop,
            arrived=self.arrived,
            reconciler=reconciler,
            ledger=None if flow.mode is Mode.CDC else self._ledger(),  # deletes come as such
            on_page=None if asked is None else asked.saw,
            first_sync=self.first_sync,
            times=self.times,
            memory=(memory := self._memory()),
            captured_keys=self._captured_keys(),
        )
        if memory is not None and incremental:
            memory.window_read()
        if reconciler is not None and incremental:
            self.progress.missed_by_webhooks += reconciler.missed
            await store.reconciliations.record(flow.name, reconciler.checked, reconciler.missed)
        return incremental

    def _captured_keys(self) -> CaptureKeys | None:
        """A CDC flow's keys, kept so a new snapshot finds the deletes it cannot see (none
        with `deletes: {detect: none}`)."""
        flow = self.flow
        if flow.mode is not Mode.CDC or (flow.deletes and flow.deletes.detect == "none"):
            return None
        if self.captured_keys is None:
            self.captured_keys = CaptureKeys(flow, self.store.source_keys, self.clock)
        return self.captured_keys

    def _memory(self) -> ReadMemory | None:
        flow = self.flow
        # A change stream (mode: cdc) re-reads nothing: each change it brings is one.
        if self.memory is None and flow.cursor is not None and flow.mode is not Mode.CDC:
            interval = flow.interval.total_seconds() if flow.interval else 60.0
            keep = keep_for(flow.lookback.total_seconds(), interval)
            self.memory = ReadMemory(tuple(flow.key), self.clock, keep)
        return self.memory

    async def _failed(self, error: Exception) -> None:
        name = self.flow.name
        self.progress.last_error = f"{type(error).__name__}: {error}"
        if self.flow.mode is Mode.CDC and isinstance(error, IntegrationFatalError):
            self.progress.read_refused = error.message  # an incident (no interval to stall)
        self.recorder.read_failed(name, error, in_a_row=self.down_after)
        if isinstance(error, ConnectorError | StoreError):
            log.warning("read failed", flow=name, error=str(error))
        else:
            log.exception("read raised an unexpected error", flow=name)
        await note_failure(self.store, name, "read", error)

    async def _scan_if_due(self, stop: asyncio.Event) -> None:
        """List the source's keys when `deletes.every` has passed since the last scan."""
        flow, source, progress = self.flow, self.source, self.progress
        assert flow.deletes is not None and isinstance(source, KeyLister)
        ledger = self._ledger()
        try:
            current = await ledger.begin()
            last = current.finished_at or current.started_at
            if self.clock.wall() - last < flow.deletes.every.total_seconds():
                return
            stream = dataclasses.replace(flow.source_spec(), copy_text=False)
            report = await scan_keys(ledger, source, stream, self.store.journal, stop)
        except SyncwellError as error:
            progress.deletes_held = f"the key scan failed: {error}"
            log.warning("key scan failed", flow=flow.name, error=str(error))
            await note_failure(self.store, flow.name, "scan", error)
            return
        if report is not None:
            progress.keys_scanned += report.listed
            count_pass(progress, self.arrived, report.outcome)

    def _ledger(self) -> FlowLedger:
        return FlowLedger(self.flow, self.store.source_keys, self.clock)

    def _reconciler(self) -> Reconciler | None:
        """For a realtime flow fed by webhooks: what its polls find that they missed."""
        if not self.reconciled:
            return None
        flow = self.flow
        return Reconciler(
            self.store.record_versions, flow.source, flow.stream, flow.key, flow.version
        )


async def note_failure(store: Store, flow: str, stage: str, error: BaseException) -> None:
    """Keep a failure for `syncwell status`; a store that is down is only logged."""
    try:
        await store.failures.record(flow, stage, error)
    except StoreError:
        log.warning("could not record a failure", flow=flow, stage=stage)  # the store is down


class FailureNotes:
    """Failed attempts kept for `syncwell status` and the dashboard as they happen, at most one
    per flow and stage every `every_s`: a write retried for minutes behind a 503 shows its
    error while it is retried (it showed none until the batch was given up), in a row every
    ten seconds rather than one a try."""

    def __init__(self, store: Store, clock: Clock, every_s: float = 10.0) -> None:
        self._store = store
        self._clock = clock
        self._every_s = every_s
        self._last: dict[tuple[str, str], float] = {}

    async def note(self, flow: str, stage: str, error: BaseException) -> None:
        """Keep `error` unless one of the same flow and stage was kept within `every_s`."""
        now, last = self._clock.now(), self._last.get((flow, stage))
        if last is not None and now - last < self._every_s:
            return
        self._last[flow, stage] = now
        await note_failure(self._store, flow, stage, error)
