"""Watching a running engine: its flows measured per minute, their incidents opened and closed.

The engine does the work; the observer looks at it, never in the way: it reads the counts the
engine keeps anyway (progress, breakers, limiters), folds events into per-minute rows, and
every few seconds adds them to the store and judges each flow's health.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence

import structlog

from syncwell.engine.drift import Compared
from syncwell.engine.policies import CircuitBreaker, RateLimiter
from syncwell.engine.policies.breaker import BreakerState
from syncwell.engine.progress import FlowProgress
from syncwell.engine.slots import SlotWatch
from syncwell.engine.verify import FlowVerifier
from syncwell.engine.workers import WorkersView
from syncwell.errors import StoreError, TransportError
from syncwell.measure import DriftWindow, FlowHealth, FlowSample, IncidentWatch, MinuteRecorder
from syncwell.measure.alerts import AlertSender
from syncwell.measure.slots import SlotHealth
from syncwell.store import Store
from syncwell.types import Clock
from syncwell.workspace import Flow, Mode

__all__ = ["Observer"]

log = structlog.get_logger("syncwell.observer")

_UNSENT_FLUSHES = 360
"""Flushes kept while the store refuses them (an hour at 10 s); older ones are dropped."""
_SUCCESS_WINDOW_S = 300.0
_SUCCESS_MIN_ATTEMPTS = 10


class Observer:
    """Measures and judges one engine's flows.

    Args:
        flows: the automated flows.
        progress: the engine's live counters, by flow.
        clock: the engine's clock.
        breakers: the engine's breakers by destination system (filled when it connects).
        limiters: the engine's rate limiters by system (likewise).
    """

    def __init__(
        self,
        flows: Sequence[Flow],
        progress: Mapping[str, FlowProgress],
        clock: Clock,
        breakers: Mapping[str, CircuitBreaker],
        limiters: Mapping[str, RateLimiter],
    ) -> None:
        self.flows = flows
        self.progress = progress
        self.clock = clock
        self._breakers = breakers
        self._limiters = limiters
        self._destinations = {flow.name: flow.destination for flow in flows}
        self.recorder = MinuteRecorder(
            clock.wall,
            {flow.name: flow.slo.freshness.total_seconds() for flow in flows},
            written_requests=self._written_requests,
        )
        """Per-flow, per-minute measurements, flushed to the store every few seconds."""
        self.alerts: AlertSender | None = None
        """Where incident openings and closings are announced, when the workspace says."""
        self._opened_seen: dict[str, float] = {}
        self._missed_seen: dict[str, int] = {}
        self._requests_seen: dict[str, int] = {}
        self._unsent: list[list[dict[str, object]]] = []
        self._backlog: dict[str, int] = {}
        self._dead_letters: dict[str, int] = {}
        self._incidents: IncidentWatch | None = None
        self.judging = True
        """Whether this process opens and closes incidents (not a worker of a distributed run)."""
        self.workers: WorkersView | None = None
        """The reader of a distributed run judges from what its workers measured."""
        self._attempt_marks: dict[str, deque[tuple[float, int, int]]] = {}
        self.verifiers: Mapping[str, FlowVerifier] = {}
        """The flows' read-back of their writes, by flow (the engine's)."""
        self.unreachable: Callable[[Flow], str | None] = _reachable
        """Why a flow cannot run because a system of its is down (engine/startup.py)."""
        self.slots: SlotWatch | None = None
        """Measures the replication slots of the `mode: cdc` flows (engine/slots.py)."""
        self._slot_health: dict[str, SlotHealth] = {}

    def samples(self) -> list[FlowSample]:
        """Each automated flow's counts and gauges now (for `/metrics`)."""
        found = []
        for flow in self.flows:
            progress = self.progress[flow.name]
            breaker = self._breakers.get(flow.destination)
            limiter = self._limiters.get(flow.destination)
            verifier = self.verifiers.get(flow.name)
            verified = Compared() if verifier is None else verifier.totals
            found.append(
                FlowSample(
                    flow=flow.name,
                    integration=flow.integration,
                    read=progress.read,
                    settled=progress.settled,
                    written=progress.written,
                    dead_lettered=progress.dead_lettered,
                    retries=progress.retries,
                    retries_rate_limited=progress.retries_rate_limited,
                    retries_timeout=progress.retries_timeout,
                    failed_attempts=progress.failed_attempts,
                    webhook_changes=progress.hooked,
                    echoes=progress.echoes,
                    stale=progress.stale,
                    missed_by_webhooks=progress.missed_by_webhooks,
                    backlog=self._backlog.get(flow.name, 0),
                    dead_letters_open=self._dead_letters.get(flow.name, 0),
                    last_read_at=progress.last_read_at,
                    breaker_open=breaker is not None and breaker.state is BreakerState.OPEN,
                    headroom=None if limiter is None else limiter.headroom(),
                    verified=verified.verified,
                    drifted=verified.drifted,
                    drift=dict(verified.fields),
                    **self._slot_sample(flow.name),
                )
            )
        return found

    def _slot_sample(self, flow: str) -> dict[str, float | None]:
        health = self._slot_health.get(flow)
        if health is None or health.retained_bytes is None:
            return {}
        return {
            "slot_retained_bytes": float(health.retained_bytes),
            "slot_retained_s": health.retained_s,
        }

    async def _measure_slots(self, store: Store) -> None:
        """Measure the CDC flows' slots, into the minutes and for /metrics and incidents."""
        if self.slots is None:
            return
        try:
            checkpoints = await store.journal.checkpoints()
        except StoreError:
            checkpoints = {}
        self._slot_health = await self.slots.sample(self.clock.wall(), checkpoints)
        for flow, health in self._slot_health.items():
            if health.retained_bytes is not None and health.retained_s is not None:
                self.recorder.slot(flow, health.retained_bytes, health.retained_s)

    async def flush_every(self, store: Store, seconds: float, halt: asyncio.Event) -> None:
        """Flush every `seconds` until `halt` is set. Stopped by the event, never cancelled:
        a cancel in the middle of a flush would lose the minutes it had taken."""
        # Real time, not the engine's clock: housekeeping must not move a test's fake time.
        while not halt.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(halt.wait(), seconds)
            if not halt.is_set():
                await self.flush(store)

    async def flush(self, store: Store) -> None:
        """Sample the gauges, then add the gathered minutes to the store."""
        try:
            backlog = await store.journal.backlog()
            dead_letters = await store.dead_letters.counts()
        except StoreError:
            backlog, dead_letters = {}, self._dead_letters
        self._dead_letters = dead_letters
        await self._measure_slots(store)
        for flow in self.flows:
            breaker, limiter = self._breakers[flow.destination], self._limiters[flow.destination]
            opened = breaker.opened_total_s()
            progress = self.progress[flow.name]
            requests = self._requests_spent(flow)
            self._backlog[flow.name] = backlog.get(flow.name, (0, 0, None))[1]
            self.recorder.sampled(
                flow.name,
                backlog=self._backlog[flow.name],
                breaker_open_s=opened - self._opened_seen.get(flow.name, 0.0),
                headroom=limiter.headroom(),
                missed=progress.missed_by_webhooks - self._missed_seen.get(flow.name, 0),
                requests=requests - self._requests_seen.get(flow.name, 0),
                dead_letters=dead_letters.get(flow.name, 0),
                rates=(self._rate(flow.source), limiter.system_rate),
            )
            self._opened_seen[flow.name] = opened
            self._missed_seen[flow.name] = progress.missed_by_webhooks
            self._requests_seen[flow.name] = requests
        self._unsent.append([minute.as_row() for minute in self.recorder.drain()])
        try:
            while self._unsent:
                await store.measurements.add(self._unsent[0])
                self._unsent.pop(0)
            for verifier in self.verifiers.values():
                await verifier.flush()  # what reading writes back found, with the minutes
            if self.judging:
                await self._watch_incidents(store, backlog)
        except (StoreError, TransportError) as error:
            # Kept for the next flush (each its own add: one minute may be in several).
            del self._unsent[:-_UNSENT_FLUSHES]
            log.warning("measurements not kept yet", flushes=len(self._unsent), error=str(error))

    def _rate(self, system: str) -> float | None:
        limiter = self._limiters.get(system)
        return None if limiter is None else limiter.system_rate

    def _requests_spent(self, flow: Flow) -> int:
        """Requests sent for `flow` so far from its source's budget. Its destination's count
        as each write ends (`_written_requests`): sampled at a flush, a write in flight
        would count its requests without its changes."""
        limiter = self._limiters.get(flow.source)
        return 0 if limiter is None else limiter.spent[flow.name]

    def _written_requests(self, flow: str) -> int:
        """Requests sent for `flow` so far from its destination's budget."""
        limiter = self._limiters.get(self._destinations.get(flow, ""))
        return 0 if limiter is None else limiter.spent[flow]

    def _success_rate(self, flow: str, now: float) -> float | None:
        """Share of write attempts that succeeded over the last 5 minutes (10 at least)."""
        progress = self.progress[flow]
        window = self._attempt_marks.setdefault(flow, deque())
        window.append((now, progress.attempts, progress.failed_attempts))
        while len(window) > 1 and window[1][0] <= now - _SUCCESS_WINDOW_S:
            window.popleft()
        _, attempts_then, failed_then = window[0]
        attempts = progress.attempts - attempts_then
        if attempts < _SUCCESS_MIN_ATTEMPTS:
            return None
        return 1.0 - (progress.failed_attempts - failed_then) / attempts

    def _drift(self, flow: Flow, now: float) -> DriftWindow | None:
        """What reading back the flow's writes found lately: this process's, or every
        worker's in a distributed run."""
        if self.workers is not None:
            return self.workers.drift(flow)
        verifier = self.verifiers.get(flow.name)
        return None if verifier is None else verifier.window(now)

    async def _watch_incidents(
        self, store: Store, backlog: Mapping[str, tuple[int, int, float | None]]
    ) -> None:
        """Open and close incidents from the flows' state now (measure/incidents.py)."""
        if self._incidents is None:  # the first look: incidents a previous run left open
            self._incidents = IncidentWatch(
                {(i.flow, i.cause) for i in await store.incidents.list(open_only=True)}
            )
        now = self.clock.wall()
        workers = self.workers
        if workers is not None:
            await workers.refresh(store, now)
        healths = []
        for flow in self.flows:
            oldest = backlog.get(flow.name, (0, 0, None))[2]
            breaker = self._breakers.get(flow.destination)
            breaker_open = breaker is not None and breaker.state is BreakerState.OPEN
            success = self._success_rate(flow.name, now)
            if workers is not None:
                breaker_open = workers.breaker_open(flow.name)
                success = workers.success_rate(flow.name)
                waiting = [t for t in (oldest, workers.oldest_waiting(flow.name)) if t]
                oldest = min(waiting, default=None)
            healths.append(
                FlowHealth(
                    flow=flow.name,
                    integration=flow.integration,
                    breaker_open=breaker_open,
                    oldest_pending_age_s=None if oldest is None else max(0.0, now - oldest),
                    freshness_slo_s=flow.slo.freshness.total_seconds(),
                    last_read_at=self.progress[flow.name].last_read_at,
                    interval_s=flow.interval.total_seconds() if flow.interval else None,
                    started_at=self.progress[flow.name].started_at,
                    success_rate=success,
                    success_slo=flow.slo.success_rate,
                    deletes_held=self.progress[flow.name].deletes_held,
                    refused=self.progress[flow.name].read_refused,
                    drift=self._drift(flow, now),
                    unreachable=self.unreachable(flow),
                    slot=self._slot_health.get(flow.name),
                    streams=flow.mode is Mode.CDC,
                )
            )
        for change in self._incidents.evaluate(now, healths):
            if change.opening:
                log.warning("incident opened", flow=change.flow, cause=change.cause)
                incident: int | None = await store.incidents.open(
                    change.integration, change.flow, change.cause, change.detail, now
                )
            else:
                log.info("incident closed", flow=change.flow, cause=change.cause)
                incident = await store.incidents.close(change.flow, change.cause, now)
            if self.alerts is not None:
                self.alerts.announce(
                    "opened" if change.opening else "closed",
                    {
                        "id": incident,
                        "integration": change.integration,
                        "flow": change.flow,
                        "cause": change.cause,
                        "detail": change.detail,
                        "at": now,
                    },
                )


def _reachable(flow: Flow) -> str | None:
    """Before the engine opens its systems, none is known to be down."""
    return None
