"""Delivery: take a flow's journal entries in order, coalesce, write, and mark them delivered.

A write runs through the policies: the integration's circuit breaker decides whether it may
go, the system's rate limiter paces it, and the retrier backs off transient failures. A
record the destination refuses for good is isolated by splitting the batch in halves until it
stands alone; it then goes to the dead letters with its reason, and everything else is
written. A record the tool fails on every time with a server error (a 500: a bug of the tool
on that record) is found the same way once the batch ran out of attempts, but becomes a dead
letter only if the tool took other writes meanwhile; otherwise the tool is down and the batch
is handed back. Entries leave the journal only in the transaction that records their delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from itertools import takewhile
from typing import Literal, Protocol, runtime_checkable

import structlog

from syncwell.connectors import Destination
from syncwell.connectors.fencing import fenced_by
from syncwell.connectors.identity import IdentifyingDestination, IdentityBook
from syncwell.engine.coalesce import coalesce, key_getter
from syncwell.engine.guard import RecordGuard, key_text
from syncwell.engine.identities import FlowIdentities, ReadBackIds
from syncwell.engine.policies import (
    BreakerState,
    CircuitBreaker,
    RateLimiter,
    Retrier,
    RetryStats,
)
from syncwell.engine.progress import FlowProgress
from syncwell.engine.verify import FlowVerifier
from syncwell.engine.writable import writable
from syncwell.errors import (
    IntegrationFatalError,
    RecordMissingError,
    RecordRejectedError,
    ServerError,
    StoreError,
    TransientError,
)
from syncwell.measure import MinuteRecorder
from syncwell.measure.tracing import tracer
from syncwell.store import DeadLetterDraft, DeliveryRecord, IdentityChanges, JournalEntry
from syncwell.types import ChangeBatch, Clock, Row, StreamSpec
from syncwell.workspace.policies import RetryPolicy
from syncwell.workspace.unsent import Unsent

__all__ = ["Feed", "FlowDelivery", "MissingPolicy", "Route"]

MissingPolicy = Literal["dead_letter", "recreate", "drop"]

log = structlog.get_logger("syncwell.delivery")

_ISOLATING_ATTEMPTS = 2
"""Attempts of each part while a batch is halved around a record the tool fails on. The
whole batch had its full schedule already; a part gets one retry, so one such record in a
batch of N costs about max_attempts + 3 * log2(N) writes (docs/guarantees.md), not N times
the schedule."""

_UNPROVEN_PARTS = 3
"""Parts that may fail before any write succeeded: then the tool is taken to be down and the
batch is handed back. Three let two bad records in different halves still be found."""


class Feed(Protocol):
    """Where a delivery takes its entries and records them done: the store's journal, or a
    partition of the transport (engine/streamfeed.py)."""

    def pending(
        self, flow: str, *, after: int = 0, max_changes: int
    ) -> Awaitable[list[JournalEntry]]: ...

    def complete(
        self,
        flow: str,
        entries: Sequence[JournalEntry],
        record: DeliveryRecord,
        dead: Sequence[DeadLetterDraft] = (),
        identities: IdentityChanges | None = None,
    ) -> Awaitable[None]: ...

    def new_dead_letters(
        self, flow: str, drafts: Sequence[DeadLetterDraft]
    ) -> Awaitable[list[DeadLetterDraft]]: ...


@runtime_checkable
class Backlogged(Protocol):
    """A feed that knows whether more waited behind the entries it gave (the transport's;
    the journal's read-ahead tells it instead)."""

    def more_behind(self) -> bool: ...


@runtime_checkable
class Answering(Protocol):
    """A destination that counts the requests its system answered with success (http): one
    that skips what it already wrote may succeed without asking the system anything, and
    such a success proves nothing of the system's health."""

    answered: int


@runtime_checkable
class Fenced(Protocol):
    """A feed whose batches may be taken over by another worker (the transport's): each
    write checks first that this worker still holds its batch, and a destination that
    writes in a transaction checks again before it commits (connectors/fencing.py)."""

    async def still_held(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where a flow's changes go and under which policies."""

    flow: str
    source: StreamSpec
    destination: StreamSpec
    renames: dict[str, str]
    writer: Destination
    limiter: RateLimiter
    breaker: CircuitBreaker
    retry: RetryPolicy
    guard: RecordGuard | None = None
    verify: FlowVerifier | None = None
    """Reads written records back to prove they stuck (engine/verify.py)."""
    unsent: Unsent = field(default_factory=Unsent)
    """Columns the destination never receives (the tool sets them): left out as it is
    written, so the guard and the dead letters still see them."""
    identities: FlowIdentities | None = None
    """The identity map of a destination whose tool assigns the ids."""
    read_back: ReadBackIds | None = None
    """Maps the tool's ids this flow reads to the core's keys (the other direction)."""
    missing: MissingPolicy = "dead_letter"
    """What a change to a record missing in the destination does."""


@dataclass(slots=True)
class _Tally:
    attempts: int = 0
    written: int = 0
    dead: list[DeadLetterDraft] = field(default_factory=list)
    book: IdentityBook = field(default_factory=IdentityBook)
    recreated: set[str] = field(default_factory=set)
    proven: int = 0
    """Writes that succeeded on an answer of the system: proof that it is up."""
    deferred: int = 0
    """Server errors not yet told to the breaker: they count only if the batch is handed
    back (a record the tool fails on alone says nothing of its health)."""


class FlowDelivery:
    """Delivers one flow's journal, one batch at a time, in journal order."""

    def __init__(
        self,
        route: Route,
        feed: Feed,
        progress: FlowProgress,
        clock: Clock,
        recorder: MinuteRecorder | None = None,
        failed: Callable[[BaseException], Awaitable[None]] | None = None,
    ) -> None:
        self._route = route
        self._feed = feed
        self._progress = progress
        self._clock = clock
        self._recorder = recorder
        self._failed = failed
        self._retrier = Retrier(route.retry, clock, rng=random.Random())  # noqa: S311
        few = min(_ISOLATING_ATTEMPTS, route.retry.max_attempts)
        isolating = route.retry.model_copy(update={"max_attempts": few})
        self._isolating = Retrier(isolating, clock, rng=random.Random())  # noqa: S311
        self._counted = self._retrier.stats
        self._ahead: asyncio.Future[list[JournalEntry]] | None = None
        self._completing: asyncio.Future[None] | None = None

    @property
    def retry_stats(self) -> RetryStats:
        """Retries by class since this delivery started."""
        return _added(self._retrier.stats, self._isolating.stats)

    async def deliver_next(self) -> int:
        """Deliver the oldest pending entries of the flow; return how many changes they held.

        While this batch is written, the next is already read from the journal, and while the
        next is written, this one's completion commits: the journal is off the critical path.
        A failed write drops the read-ahead; a failed completion takes its entries again.
        """
        route = self._route
        entries = await self._take()
        if not entries:
            return 0
        # A batch holds one shape (columns, rows or COPY text); the next waits its turn.
        shape = _shape(entries[0].batch)
        entries = list(takewhile(lambda entry: _shape(entry.batch) == shape, entries))
        self._ahead = asyncio.ensure_future(
            self._feed.pending(
                route.flow, after=entries[-1].id, max_changes=route.source.batch_size
            )
        )
        started, before = self._clock.wall(), self.retry_stats
        batch = coalesce([e.batch for e in entries], route.source.key, route.source.version)
        tally = _Tally()
        identities: IdentityChanges | None = None
        with tracer().start_as_current_span("syncwell.delivery") as span:
            span.set_attribute("syncwell.flow", route.flow)
            try:
                batch = await self._read_back(batch, tally)
                batch = await self._screen(batch)
                if route.verify is not None:  # a read-back in flight skips keys written again
                    await route.verify.clear_of(batch)
                if len(batch) and route.identities is not None:
                    tally.book, values = await route.identities.book_for(batch)
                    await self._write_all(batch, tally)
                    identities = route.identities.changes(tally.book, values)
                elif len(batch):
                    await self._write_all(batch, tally)
                if route.verify is not None and len(batch):
                    refused = [letter.key for letter in tally.dead]
                    route.verify.written(batch, self._renamed, tally.book, refused)
                if tally.dead:  # a dead letter counts once: not again if already kept open
                    await self._settle()  # the completion in flight may be keeping it now
                    tally.dead = await self._feed.new_dead_letters(route.flow, tally.dead)
            except BaseException:
                self._drop_read_ahead()  # these entries stay first in line
                raise
            finally:
                span.set_attribute("syncwell.written", tally.written)
                span.set_attribute("syncwell.attempts", tally.attempts)
                span.set_attribute("syncwell.dead_lettered", len(tally.dead))
        after = self.retry_stats
        changes = sum(len(entry.batch) for entry in entries)
        record = DeliveryRecord(
            changes=changes,
            written=tally.written,
            dead_lettered=len(tally.dead),
            attempts=tally.attempts,
            retries_transient=after.transient - before.transient,
            retries_rate_limited=after.rate_limited - before.rate_limited,
            started_at=started,
            finished_at=self._clock.wall(),
            retries_timeout=after.timed_out - before.timed_out,
        )
        await self._settle()  # one completion in flight at a time, in journal order
        self._completing = asyncio.ensure_future(
            self._feed.complete(route.flow, entries, record, tally.dead, identities)
        )
        self._count(entries, record)
        if self._recorder is not None:
            self._recorder.delivered(
                route.flow,
                written=record.written,
                attempts=record.attempts,
                retries_transient=record.retries_transient,
                retries_rate_limited=record.retries_rate_limited,
                retries_timeout=record.retries_timeout,
                dead_lettered=record.dead_lettered,
                write_s=record.finished_at - record.started_at,
                lag_s=max(0.0, record.finished_at - batch.observed_at),
                busy=self._more_waiting(changes),
            )
        return changes

    def _more_waiting(self, changes: int) -> bool:
        """Whether changes waited behind this batch: its write then ran at capacity. The
        read-ahead knows; while it is still reading, a full batch is taken to mean so."""
        if isinstance(self._feed, Backlogged):
            return self._feed.more_behind()
        ahead = self._ahead
        if ahead is not None and ahead.done() and not ahead.cancelled():
            return ahead.exception() is None and bool(ahead.result())
        return changes >= self._route.source.batch_size

    async def _read_back(self, batch: ChangeBatch, tally: _Tally) -> ChangeBatch:
        """Key a batch read back from a tool that assigns ids by the core's keys; a record
        created in the tool has no core key, and becomes a dead letter that says so."""
        read_back = self._route.read_back
        if read_back is None or not len(batch):
            return batch
        translated = await read_back.translate(batch)
        system = read_back.scope.system
        for index in range(len(translated.unknown)):
            one = translated.unknown.select([index])
            reason = (
                f"this record was created in {system}, so the core has no key for it: syncwell "
                f"maps {system}'s ids to the core's keys only for records it created there or "
                "matched. To bring records created there into the core, key a flow by a field "
                f"{system} keeps the core's key in, or by {system}'s id into a table of its own"
            )
            error = RecordRejectedError(reason, system=system, reason=reason)
            tally.dead.append(self._dead_letter(one, error, reason, 0))
        return translated.batch

    async def _screen(self, batch: ChangeBatch) -> ChangeBatch:
        """Drop what the record guard says must not be written, and note what will be."""
        guard = self._route.guard
        if guard is None:
            return batch
        batch, screened = await guard.screen(batch)
        progress = self._progress
        progress.echoes += screened.echoes
        progress.stale += screened.stale
        progress.lost_conflicts += screened.lost_conflicts
        if self._recorder is not None:
            dropped = screened.echoes + screened.stale + screened.lost_conflicts
            self._recorder.screened(self._route.flow, dropped)
        await guard.remember(batch, self._route.renames)
        return batch

    async def _take(self) -> list[JournalEntry]:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            entries = await ahead
            if entries:
                return entries
        # From the start, not from the last id taken: ids need not become visible in order (a
        # replay on a PostgreSQL store can commit after a later page), and with nothing in
        # flight every entry still in the journal is one to deliver.
        await self._settle()
        route = self._route
        return await self._feed.pending(route.flow, max_changes=route.source.batch_size)

    async def _settle(self) -> None:
        """Wait for the completion in flight; if it failed, its entries are taken again."""
        completing, self._completing = self._completing, None
        if completing is None:
            return
        try:
            await completing
        except BaseException:
            self._drop_read_ahead()  # read past entries that are still in the journal
            raise

    def _drop_read_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.cancel()
            self._ahead = None

    async def close(self) -> None:
        """Finish the completion in flight and stop reading ahead."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)
        with contextlib.suppress(Exception):  # not completed: delivered again next time
            await self._settle()

    def _count(self, entries: list[JournalEntry], record: DeliveryRecord) -> None:
        progress = self._progress
        progress.settled += record.changes
        progress.written += record.written
        progress.dead_lettered += record.dead_lettered
        self._count_retries()

    def _count_retries(self) -> None:
        """Add the retries since the last count to the flow's progress: at the end of each
        delivery, and before each attempt, so a write retried through an outage shows them
        while it lasts. Added, not set: a distributed flow's partitions each deliver with
        their own retrier into the one progress of the flow."""
        progress = self._progress
        stats, seen = self.retry_stats, self._counted
        progress.retries += stats.retries - seen.retries
        progress.retries_rate_limited += stats.rate_limited - seen.rate_limited
        progress.retries_timeout += stats.timed_out - seen.timed_out
        self._counted = stats

    async def _write_all(self, batch: ChangeBatch, tally: _Tally) -> None:
        """Write the batch; handed back, the server errors it met count for the breaker."""
        try:
            await self._write_or_split(batch, tally)
        except TransientError:
            breaker = self._route.breaker
            for _ in range(tally.deferred):
                breaker.record_failure()
            raise
        finally:
            tally.deferred = 0

    async def _write_or_split(
        self, batch: ChangeBatch, tally: _Tally, tries: int = 1, retrier: Retrier | None = None
    ) -> None:
        """Write the batch; set aside each record the destination refuses.

        A record the destination names is set aside at once and the rest written again (a
        loop: a destination may name a thousand); an unnamed one is found by halving the
        batch until it stands alone. `tries` counts the writes that included these records.
        With `retrier` (a part being isolated) a transient error goes up to `_isolate`.
        """
        while len(batch):
            attempts = tally.attempts
            try:
                await (retrier or self._retrier).call(self._attempt, batch, tally)
            except TransientError as error:
                if retrier is not None:
                    raise
                if self._route.retry.exhausted == "dead_letter":
                    # Out of attempts on a schedule that ends in dead letters (webhooks, a day).
                    await self._give_up(batch, tally, tries)
                    return
                if not isinstance(error, ServerError) or len(batch) == 1:
                    raise  # handed back: the changes stay in the journal
                await self._isolate(batch, tally, tally.attempts - attempts)
                return
            except RecordMissingError as error:
                handled = self._on_missing(batch, error.key, tally)
                if handled is not None:
                    batch = handled
                    continue
                # Dead-lettered as below; the tool's id for it is spent, so a replay creates
                # the record anew.
                left, tries = self._set_aside(batch, error, tally, tries)
                if left is None:
                    raise  # a missing record is named by its own URL; this one was not
                batch = left
                continue
            except RecordRejectedError as error:
                rest, tries = self._set_aside(batch, error, tally, tries)
                if rest is None:
                    for half in _halves(batch):
                        await self._write_or_split(half, tally, tries + 1, retrier)
                    return
                batch = rest
                continue
            tally.written += len(batch)
            return

    async def _isolate(self, batch: ChangeBatch, tally: _Tally, spent: int) -> None:
        """Find the records the tool fails on alone, after `batch` ran out of attempts (`spent`)
        on server errors: write it in halves, breadth first, each part with a retry, and halve
        again each part that still fails. A part written is proof the tool is up; then each
        change that still fails alone is a dead letter saying so. Without that proof (no part
        written, or more than `_UNPROVEN_PARTS` failed first) the tool is down: its last error
        goes up and the batch is handed back.
        """
        proof = tally.proven
        parts = deque((half, spent) for half in _halves(batch))
        alone: list[tuple[ChangeBatch, ServerError, int]] = []
        unproven = 0
        while parts:
            part, before = parts.popleft()
            attempts = tally.attempts
            try:
                await self._write_or_split(part, tally, retrier=self._isolating)
            except ServerError as error:
                used = before + tally.attempts - attempts
                unproven += tally.proven == proof
                if unproven > _UNPROVEN_PARTS:
                    raise
                if len(part) == 1:
                    alone.append((part, error, used))
                else:
                    parts.extend((half, used) for half in _halves(part))
        if alone and tally.proven == proof:
            raise alone[0][1]
        for one, last, used in alone:
            system = last.system or "the destination"
            reason = (
                f"{system} answered {last.status} to this change on each of its {used} "
                "attempts, and the tool accepted other records meanwhile: it fails on this "
                f"record alone (last answer: {last.message}). Fix the record or the tool, then "
                "replay this dead letter, or discard it"
            )
            tally.dead.append(self._dead_letter(one, last, reason, used))

    def _set_aside(
        self, batch: ChangeBatch, error: RecordRejectedError, tally: _Tally, tries: int
    ) -> tuple[ChangeBatch | None, int]:
        """Dead-letter the record the error names; the rest to write again, or None when
        the error names no record of the batch (then it is found by halving)."""
        named = 0 if len(batch) == 1 else self._index_of(batch, error.key)
        if named is None:
            return None, tries
        dead = batch.select([named])
        tally.dead.append(self._dead_letter(dead, error, error.reason, tries))
        return batch.select([i for i in range(len(batch)) if i != named]), tries + 1

    def _on_missing(self, batch: ChangeBatch, key: str | None, tally: _Tally) -> ChangeBatch | None:
        """Apply the flow's `missing:` policy to the record at `key`: the batch to write
        next (it recreated the record, or dropped its change), or None to dead-letter it
        (the default, a record recreated once already, or one the batch does not hold)."""
        tally.book.lose(key or "")
        named = None if key is None else self._index_of(batch, key)
        policy, flow = self._route.missing, self._route.flow
        if key is None or named is None:
            return None
        if policy == "recreate" and key not in tally.recreated:
            tally.recreated.add(key)
            tally.book.recreate.add(key)
            self._progress.missing_recreated += 1
            log.info("recreating a record missing in the destination", flow=flow, key=key)
            return batch
        if policy == "drop":
            self._progress.missing_dropped += 1
            log.info("dropped a change to a record missing in the destination", flow=flow, key=key)
            return batch.select([i for i in range(len(batch)) if i != named])
        return None

    async def _give_up(self, batch: ChangeBatch, tally: _Tally, tries: int) -> None:
        """Dead-letter what still fails after the last attempt, one change at a time.

        One last try per change, past the breaker: a destination that remembers what it
        already delivered (webhook_out) answers those at once, so only the changes that
        really failed become dead letters, each with its own last error.
        """
        attempts = self._route.retry.max_attempts
        for index in range(len(batch)):
            one = batch.select([index])
            await self._still_held()
            try:
                await self._write(one, tally.book)
            except StoreError:
                raise  # the fence refused it: not this change's failure
            except Exception as last:
                reason = f"gave up after {attempts} attempts: {last}"
                tally.dead.append(self._dead_letter(one, last, reason, tries))
            else:
                tally.written += 1
            tally.attempts += 1

    def _renamed(self, batch: ChangeBatch) -> ChangeBatch:
        renames = self._route.renames
        columns = tuple(renames.get(c, c) for c in batch.columns)
        return writable(dataclasses.replace(batch, columns=columns), self._route.unsent)

    async def _attempt(self, batch: ChangeBatch, tally: _Tally) -> None:
        """One write, when the breaker allows it and the budget has room."""
        route = self._route
        await self._wait_for_breaker()
        if not getattr(route.writer, "paces_itself", False):
            await route.limiter.acquire()  # one write, one request; http paces each request
        await self._still_held()
        self._count_retries()
        tally.attempts += 1
        self._progress.attempts += 1
        answered = _answered_count(route.writer)
        try:
            await self._write(batch, tally.book)
        except StoreError:
            route.breaker.record_cancelled()  # the fence's, not the destination's answer
            raise
        except asyncio.CancelledError:
            route.breaker.record_cancelled()  # a probe cut short by a stop must not wedge it
            raise
        except RecordRejectedError:
            route.breaker.record_success()  # it answered: the system is up, the record is bad
            self._answered(None)
            raise
        except (TransientError, IntegrationFatalError) as error:
            if self._may_defer(error):
                tally.deferred += 1  # told to the breaker only if the batch is handed back
            else:
                route.breaker.record_failure()
            self._answered(error)
            self._progress.failed_attempts += 1
            self._progress.last_error = str(error)
            log.warning("write failed", flow=route.flow, error=str(error))
            if isinstance(error, TransientError) and error.retry_after is not None:
                # The system asked everyone to wait, not just this flow.
                route.limiter.pause_for(error.retry_after)
            await self._note(error)
            if isinstance(error, IntegrationFatalError):
                # A person must act; keep probing at the breaker's pace, never dead-letter.
                raise TransientError(str(error), system=error.system, flow=route.flow) from error
            raise
        except Exception as error:
            # A connector bug must not take the engine down: treat it like a fatal error, loudly.
            route.breaker.record_failure()
            self._answered(error)
            self._progress.failed_attempts += 1
            self._progress.last_error = f"{type(error).__name__}: {error}"
            log.exception("connector raised an unexpected error", flow=route.flow)
            await self._note(error)
            raise TransientError(self._progress.last_error, flow=route.flow) from error
        route.breaker.record_success()
        self._answered(None)
        if not isinstance(route.writer, Answering) or _answered_count(route.writer) > answered:
            tally.proven += 1

    def _may_defer(self, error: BaseException) -> bool:
        """Whether a failed attempt waits to be told to the breaker: a server error while it
        is closed, in a delivery that may isolate the record the tool fails on. A probe's
        failure (half-open) is told at once, or the breaker would wait on it for ever."""
        return (
            isinstance(error, ServerError)
            and self._route.retry.exhausted == "hand_back"
            and self._route.breaker.state is BreakerState.CLOSED
        )

    async def _still_held(self) -> None:
        """Just before a write: a feed whose batch another worker may have taken over checks
        that this one still holds it (the waits for the breaker and the budget may have
        outlasted the hold); a stale batch raises, unwritten."""
        if isinstance(self._feed, Fenced):
            try:
                await self._feed.still_held()
            except BaseException:
                self._route.breaker.record_cancelled()  # a probe slot it took stays free
                raise

    async def _note(self, error: BaseException) -> None:
        """Keep a failed attempt for `status` while it is retried (engine/reading.py)."""
        if self._failed is not None:
            await self._failed(error)

    def _answered(self, error: BaseException | None) -> None:
        """Measure what a write attempt's answer says of the destination (measure/answers.py)."""
        if self._recorder is not None:
            threshold = self._route.breaker.failure_threshold
            self._recorder.attempted(self._route.flow, error, in_a_row=threshold)

    async def _write(self, batch: ChangeBatch, book: IdentityBook) -> None:
        route = self._route
        writer, renamed = route.writer, self._renamed(batch)
        fence = self._feed.still_held if isinstance(self._feed, Fenced) else None
        with fenced_by(fence):
            if isinstance(writer, IdentifyingDestination):
                await writer.write_identified(route.destination, renamed, book)
            else:
                await writer.write(route.destination, renamed)

    async def _wait_for_breaker(self) -> None:
        breaker = self._route.breaker
        while not breaker.allow():
            await self._clock.sleep(max(breaker.wait_s(), 0.05))

    def _index_of(self, batch: ChangeBatch, key: str | None) -> int | None:
        """Where in `batch` the record with this key (as `key_text` writes it) is, if there."""
        if key is None:
            return None
        keyed = key_getter(batch.columns, self._route.source.key)
        rows = batch.decoded().rows
        return next((i for i, row in enumerate(rows) if key_text(keyed(row)) == key), None)

    def _dead_letter(
        self, batch: ChangeBatch, error: Exception, reason: str, attempts: int
    ) -> DeadLetterDraft:
        route = self._route
        row = batch.decoded().rows[0]  # kept as it came, so a replay travels the same way
        key = key_getter(batch.columns, route.source.key)(row)
        version = route.source.version
        log.info("refused for good", flow=route.flow, key=key, reason=reason)
        return DeadLetterDraft(
            key=key_text(key),
            op=batch.op(0),
            version=_version_text(row, batch.columns, version),
            batch=batch,
            reason=reason,
            error_class=type(error).__name__,
            attempts=attempts,
        )


def _version_text(row: Row, columns: tuple[str, ...], version: str | None) -> str:
    """The change's version as text; empty when the flow or the record has none."""
    if version is None or version not in columns:
        return ""
    value = row[columns.index(version)]
    return "" if value is None else str(value)


def _halves(batch: ChangeBatch) -> tuple[ChangeBatch, ChangeBatch]:
    middle = len(batch) // 2
    return batch.select(range(middle)), batch.select(range(middle, len(batch)))


def _answered_count(writer: Destination) -> int:
    return writer.answered if isinstance(writer, Answering) else 0


def _added(a: RetryStats, b: RetryStats) -> RetryStats:
    """Two retriers' counts as one."""
    counts = {f.name: getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(a)}
    return RetryStats(**counts)


def _shape(batch: ChangeBatch) -> tuple[tuple[str, ...], bool]:
    return batch.columns, batch.copy_text is None
