"""Live counters of a run, per flow, for the progress display and the run's summary."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["RATE_WINDOW_S", "FlowProgress", "RecentRate", "Stuck"]

RATE_WINDOW_S = 20.0
"""How far back a flow's `rows/s` looks: long enough to smooth a batch's burst, short enough
that a flow gone idle shows 0 within it."""
_MARK_EVERY_S = 1.0
"""Marks closer together than this are not kept: a live table asks four times a second."""


class RecentRate:
    """A count's rate over the last `window_s` seconds, from the readings it is given.

    The engine's tasks only bump counters; whoever shows the rate (the live table, the run's
    log lines) reads it often, and each reading is a mark. The rate is the count's rise since
    the newest mark at least `window_s` old (or since the start, in a run younger than the
    window), so a flow that went idle shows 0 after a window, not an average that decays
    for as long as the run lasts.
    """

    __slots__ = ("_marks", "window_s")

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._marks: deque[tuple[float, int]] = deque()

    def rate(self, now: float, count: int, since: float) -> float:
        """Per second over the last window, `count` being the total now and `since` the moment
        counting began (at 0)."""
        marks = self._marks
        if not marks:
            marks.append((since, 0))
        if now - marks[-1][0] >= _MARK_EVERY_S:
            marks.append((now, count))
        # Keep one mark at or before the window's start: the rise is measured from it.
        while len(marks) > 1 and marks[1][0] <= now - self.window_s:
            marks.popleft()
        start, counted = marks[0]
        elapsed = now - start
        return max(0, count - counted) / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Stuck:
    """Why a one-off run gave up on a flow, and what a person can do about it.

    Attributes:
        stage: what failed: reading the source or writing the destination.
        system: the system that failed (or `state`, the state store).
        reason: what went wrong, with the error that said so.
        fix: what to do, ending with running again.
        waiting: the flow's changes still in the journal when the run ended.
    """

    stage: Literal["read", "write"]
    system: str
    reason: str
    fix: str
    waiting: int = 0

    def line(self, flow: str) -> str:
        """One line for a person: the flow, the reason, the fix, and what waits."""
        text = f"flow {flow}: {self.reason.rstrip('. ')}. {self.fix}."
        if self.waiting == 1:
            text += " 1 change waits in the journal."
        elif self.waiting:
            text += f" {self.waiting} changes wait in the journal."
        return text


@dataclass(slots=True)
class FlowProgress:
    """What one flow has done in this run. Mutated only by the engine's own tasks."""

    flow: str
    started_at: float
    estimate: int | None = None
    read: int = 0
    written: int = 0
    """Changes the destination took: delivered (the run summary's `written`)."""
    settled: int = 0
    """Changes taken off the journal with their outcome settled: written, dead-lettered, or
    dropped before writing (echoes, stale, lost conflicts, and older changes to a key that a
    newer one in the same batch replaced). Measures progress through a first sync."""
    matched: int = 0
    """Records a first sync found equal in the destination: not journaled, not written
    (engine/firstsync.py)."""
    dead_lettered: int = 0
    """Dead letters made: changes refused for good, each once (a change refused again while
    its dead letter is open is not counted again)."""
    retries: int = 0
    """Write retries of every class; the next two count the 429s and the timeouts among them."""
    retries_rate_limited: int = 0
    retries_timeout: int = 0
    attempts: int = 0
    """Write attempts, successful or not."""
    failed_attempts: int = 0
    last_error: str = ""
    reads: int = 0
    last_read_at: float | None = None
    intake_done: bool = False
    gave_up: bool = False
    hooked: int = 0
    """Changes that arrived by webhook."""
    echoes: int = 0
    """Changes dropped as syncwell's own writes coming back (two-way)."""
    stale: int = 0
    """Changes dropped as older than what the destination already has."""
    lost_conflicts: int = 0
    """Changes dropped because the other side, which wins conflicts, changed the record too."""
    missing_dropped: int = 0
    """Changes dropped because their record is missing in the destination (`missing: drop`)."""
    missing_recreated: int = 0
    """Records created anew because they were missing in the destination (`missing: recreate`)."""
    missed_by_webhooks: int = 0
    """Changes a reconciliation found that no webhook had brought."""
    deletes_found: int = 0
    """Deletes journaled because a whole pass over the source's keys no longer saw them."""
    keys_scanned: int = 0
    """Keys listed by key scans."""
    deletes_held: str | None = None
    """Why the last pass's deletes were held back (too many, or a listing that failed)."""
    read_refused: str | None = None
    """Why the source refuses to go on with a `mode: cdc` flow (a column it needs dropped, a
    TRUNCATE, its slot lost): the last read's error, until a read succeeds."""
    stuck: Stuck | None = None
    """Why a one-off run gave up on the flow (`gave_up`), and the fix; None while it has not."""
    recent: RecentRate = field(default_factory=RecentRate, repr=False, compare=False)
    """The marks behind `rate`; not a count (left out of the run's JSON)."""

    def rate(self, now: float) -> float:
        """Changes settled per second over the last `RATE_WINDOW_S` seconds (since the start
        in a younger run). Each call is a reading: call it at least every few seconds."""
        return self.recent.rate(now, self.settled, self.started_at)

    def eta_s(self, now: float) -> float | None:
        """Seconds left on a first sync, when the source's size is known."""
        rate, done = self.rate(now), self.settled + self.matched  # matched: done, unwritten
        if self.estimate is None or rate <= 0 or done >= self.estimate:
            return None
        return (self.estimate - done) / rate
