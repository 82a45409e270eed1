"""How long a one-off run waits for a flow that cannot make progress, and what it then says.

A continuous run never gives up on a flow: its delivery keeps probing behind the breaker and
an incident says what is wrong. A one-off run (`syncwell run --once`) must end, so it gives up
on a flow's delivery when

- `retry.max_attempts` deliveries in a row were handed back, each after all its attempts
  failed; or
- the destination's circuit breaker is open, a probe has failed since it opened, the flow's
  own writes failed since its last delivery, and the breaker has been open longer than the
  flow's retries would wait in all (`retry_budget_s`). Without this, the breaker holds the
  delivery for `open_s`, then twice that, up to `max_open_s`, probe after failed probe: a
  missing table kept `run --once` going for hours. A probe in flight is never cut short, so a
  system that is back gets its chance; and a flow whose own writes have not failed keeps
  waiting, because the breaker is the whole system's (decision 0002): another flow's missing
  table opens it too, and that flow gives up on its own.

The flow's changes stay in the journal for the next run; its `Stuck` says why and what to do,
and the run ends with the other flows' work done.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Literal

from syncwell.engine.delivery import FlowDelivery
from syncwell.engine.policies import BreakerState, CircuitBreaker
from syncwell.engine.progress import FlowProgress, Stuck
from syncwell.errors import ConnectorError, IntegrationFatalError, StoreError, TransientError
from syncwell.store import Journal
from syncwell.types import Clock
from syncwell.workspace import RetryPolicy

__all__ = ["Patience", "note_waiting", "retry_budget_s", "stuck_on"]

_LOOK_EVERY_S = 0.1
"""How often a waiting delivery's breaker is looked at (real seconds)."""


def retry_budget_s(policy: RetryPolicy) -> float:
    """The longest a delivery's retries wait in all: the sum of their backoff ceilings (15.5 s
    with the defaults), or of the schedule's waits."""
    if policy.schedule:
        return sum(wait.total_seconds() for wait in policy.schedule)
    retries = range(policy.max_attempts - 1)
    return sum(min(policy.cap_s, policy.base_s * 2.0**n) for n in retries)


def stuck_on(
    error: BaseException, *, stage: Literal["read", "write"], system: str, attempts: int
) -> Stuck:
    """Why a flow is stuck, from the error its last read or write ended with.

    `system` is the one the stage talks to; an error that names its own system wins (a first
    sync reads the destination too).
    """
    cause = error.__cause__
    if isinstance(error, TransientError) and isinstance(cause, IntegrationFatalError):
        error = cause  # delivery keeps probing a fatal error as a transient one
    if isinstance(error, StoreError):
        return Stuck(stage, "state", f"the state store failed: {error}", _STATE_FIX)
    if isinstance(error, ConnectorError) and error.system:
        system = error.system
    verb = "read from" if stage == "read" else "write to"
    message = error.message if isinstance(error, ConnectorError) else _named(error)
    if isinstance(error, IntegrationFatalError):
        return Stuck(stage, system, f"cannot {verb} {system}: {message}", _FATAL_FIX)
    return Stuck(
        stage,
        system,
        f"cannot {verb} {system} ({_attempts(attempts)} failed): {message}",
        f"Check that {system} is up and answers (`syncwell probe` tries it), then run again",
    )


_STATE_FIX = "Check the workspace's `state:` store, then run again"
_FATAL_FIX = "Run again once that is fixed"


class Patience:
    """One flow's delivery in a one-off run, given up on as the module docstring says.

    Args:
        progress: the flow's live counters; `gave_up` and `stuck` are set here.
        system: the destination system.
        breaker: the destination's circuit breaker (shared with its other flows).
        retry: the destination's retry policy.
        clock: the engine's clock (the breaker's).
    """

    def __init__(
        self,
        progress: FlowProgress,
        system: str,
        breaker: CircuitBreaker,
        retry: RetryPolicy,
        clock: Clock,
    ) -> None:
        self._progress = progress
        self._system = system
        self._breaker = breaker
        self._retry = retry
        self._clock = clock
        self._budget_s = retry_budget_s(retry)
        self._handed_back = 0
        self._last: BaseException | None = None
        self._failed_before = progress.failed_attempts  # at its last delivery

    async def deliver(self, delivery: FlowDelivery) -> int | None:
        """`delivery.deliver_next()`; None when the flow gave up behind an open breaker.

        Then the delivery is cancelled, as a stop past its grace would cancel it: its entries
        stay in the journal, and the flow has given up.
        """
        task = asyncio.ensure_future(delivery.deliver_next())
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=_LOOK_EVERY_S)
                if not task.done() and self._breaker_outlasted_retries():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    self._give_up(self._breaker_stuck())
                    return None
        finally:
            if not task.done():  # this loop was cancelled (a stop): the delivery goes with it
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        moved = task.result()
        self._handed_back = 0
        self._failed_before = self._progress.failed_attempts
        return moved

    def handed_back(self, error: BaseException) -> bool:
        """Note a delivery handed back after its retries; whether the flow now gives up."""
        self._handed_back += 1
        self._last = error
        if self._handed_back < self._retry.max_attempts:
            return False
        attempts = self._progress.failed_attempts
        self._give_up(stuck_on(error, stage="write", system=self._system, attempts=attempts))
        return True

    def _breaker_outlasted_retries(self) -> bool:
        breaker = self._breaker
        since = breaker.open_since
        return (
            since is not None
            and breaker.state is BreakerState.OPEN  # not while a probe is out
            and breaker.failed_probes > 0
            and self._progress.failed_attempts > self._failed_before
            and self._clock.now() - since > self._budget_s
        )

    def _breaker_stuck(self) -> Stuck:
        system, attempts = self._system, self._progress.failed_attempts
        if self._last is not None:  # a handed-back delivery's own error says the most
            return stuck_on(self._last, stage="write", system=system, attempts=attempts)
        # The last error as the connector put it, without the scope its str() starts with.
        last = self._progress.last_error.removeprefix(f"{system}: ")
        reason = (
            f"cannot write to {system} ({_attempts(attempts)} failed, and its circuit breaker "
            f"stayed open): {last}"
        )
        fix = f"Fix that (or wait until {system} answers again), then run again"
        return Stuck("write", system, reason, fix)

    def _give_up(self, stuck: Stuck) -> None:
        self._progress.gave_up = True
        self._progress.stuck = stuck


async def note_waiting(journal: Journal, progress: Iterable[FlowProgress]) -> None:
    """Count the changes each stuck flow left in the journal, for its line."""
    stuck = [p for p in progress if p.stuck is not None]
    if not stuck:
        return
    try:
        backlog = await journal.backlog()
    except StoreError:
        return  # the lines say why without the count; a store that is down is not a crash
    for flow in stuck:
        assert flow.stuck is not None
        waiting = backlog.get(flow.flow, (0, 0, None))[1]
        flow.stuck = dataclasses.replace(flow.stuck, waiting=waiting)


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def _named(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
