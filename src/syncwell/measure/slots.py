"""Replication slot health: the WAL a `mode: cdc` flow's slot keeps, in bytes and in seconds.

* **Bytes**: the WAL from the slot's restart point to the end of the WAL, what the server
  keeps on disk for it (and what `max_slot_wal_keep_size` counts).
* **Seconds**: how long ago the WAL's end stood at the slot's confirmed position: the age of
  the oldest change the slot has not confirmed, 0 when nothing was written since. PostgreSQL
  keeps no time for a WAL position (without `track_commit_timestamp`), so the engine notes
  where the WAL ends each time it measures (`WalTimeline`) and reads the time back from those
  notes; between two notes it interpolates, so the value is good to one measuring interval.

docs/cdc.md (Slot health) says how they are shown and when an incident opens.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

__all__ = ["SlotHealth", "WalTimeline", "wal_size"]


@dataclass(frozen=True, slots=True)
class SlotHealth:
    """A flow's replication slot at one measurement.

    Attributes:
        slot: the slot's name.
        retained_bytes: WAL kept for it; None when it could not be measured (the database
            did not answer) or the slot does not exist.
        retained_s: how far behind in time its confirmed position is; None likewise.
        limit_bytes: the flow's `cdc.max_retained`: above it, an incident opens.
        exists: whether the slot exists (a flow not started yet has none).
        error: why it could not be measured; empty when it was.
    """

    slot: str
    retained_bytes: int | None
    retained_s: float | None
    limit_bytes: int
    exists: bool = True
    error: str = ""


@dataclass(slots=True)
class WalTimeline:
    """Where the WAL of one database ended at moments the engine measured it.

    Positions only grow, so the notes are sorted by both time and position.
    """

    _times: list[float] = field(default_factory=list)
    _ends: list[int] = field(default_factory=list)

    def note(self, at: float, wal_end: int) -> None:
        """The WAL ended at `wal_end` at `at` (Unix seconds)."""
        if self._ends and wal_end < self._ends[-1]:
            return  # a server restored from a backup: keep the notes monotonic
        self._times.append(at)
        self._ends.append(wal_end)

    def passed_at(self, position: int) -> float | None:
        """When the WAL's end passed `position`, as well as the notes tell: interpolated
        between the last note before it and the first at or after it; the first note's
        time when it was passed before any note (so the age is then a lower bound); None
        when no note has reached it."""
        index = bisect.bisect_left(self._ends, position)
        if index == len(self._ends):
            return None
        if index == 0:
            return self._times[0]
        t0, t1 = self._times[index - 1], self._times[index]
        p0, p1 = self._ends[index - 1], self._ends[index]
        return t0 + (t1 - t0) * (position - p0) / (p1 - p0)

    def age(self, position: int, now: float, *, passed_by: float | None = None) -> float:
        """Seconds since the WAL's end passed `position` (0 when it stands there now);
        `passed_by` is a moment it is known to have been passed by (a checkpoint journaled
        at it, from before the notes began)."""
        if self._ends and position >= self._ends[-1]:
            return 0.0
        known = [t for t in (self.passed_at(position), passed_by) if t is not None]
        return max(0.0, now - min(known)) if known else 0.0

    def forget_before(self, position: int) -> None:
        """Drop the notes no slot needs any more: those before the last one under
        `position` (the oldest confirmed position of the database's slots)."""
        keep = max(0, bisect.bisect_left(self._ends, position) - 1)
        del self._times[:keep], self._ends[:keep]


def wal_size(count: int | None) -> str:
    """Bytes as people read them (kB, MB, GB: powers of 1024); '-' when unknown."""
    if count is None:
        return "-"
    if abs(count) < 1024:
        return f"{count:,} B"
    size, unit = float(count), "B"
    for unit in ("kB", "MB", "GB", "TB"):  # noqa: B007 - the last unit reached is the one shown
        size /= 1024
        if abs(size) < 1024:
            break
    return f"{size:,.1f} {unit}"
