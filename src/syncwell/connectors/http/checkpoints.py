"""Where an http read stands, as a checkpoint: its shape, and reading it back.

* First full read: ``{"phase": "full", "page": <token>, "high": <cursor>, "started": <iso>}``.
  `page` names the next page to read (None: the first), `high` is the largest cursor value
  seen so far, `started` when the full read began.
* Caught up: ``{"phase": "incremental", "since": <cursor>, "seen": [<digest>, ...]}``; the
  next read asks for records changed since `since` minus the look-back, and skips the
  versions `seen` names (see `window`). In the middle of an incremental read the checkpoint
  also holds `page` and `high`, and `since` stays the read's own until it ends.
* A stream without a cursor is read in full every time: ``{"phase": "full", "page": ...}``.
* With a cursor, every checkpoint also keeps ``"newest"``, the key and cursor of the newest
  records read so far (see `newest`), and an incremental one ``"checked"``, when (Unix
  seconds) the incremental filter last proved it returns them (see `filter_check`).

A full read's `since` is the smaller of its largest cursor and the moment it began: records
changed while it walked the pages are then read again by the first incremental read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from syncwell.connectors.http import newest as newest_
from syncwell.connectors.http.cursors import micros
from syncwell.connectors.http.newest import Known
from syncwell.types import Checkpoint, JSONValue

__all__ = ["Position"]


@dataclass(frozen=True, slots=True)
class Position:
    """A read's place: its phase, the page it is at, and the cursor values that matter.

    Attributes:
        phase: "full" until the first read ends, then "incremental".
        has_cursor: whether the stream has a cursor (without one, every read is full).
        page: the next page's token; None means the first page.
        since: the lower bound of an incremental read, as the records wrote it.
        seen: digests of the versions the last read took in behind `since`.
        high: the largest cursor value seen in this read (and its resumed parts).
        started: when the first full read began, ISO 8601.
        newest: the newest records read so far, newest first.
        checked: when the incremental filter last passed its self-check (Unix seconds).
    """

    phase: str
    has_cursor: bool
    page: JSONValue = None
    since: JSONValue = None
    seen: tuple[str, ...] = ()
    high: JSONValue = None
    started: str | None = None
    _high_us: int | None = field(default=None, compare=False)
    newest: tuple[Known, ...] = ()
    checked: float | None = None

    @classmethod
    def resume(cls, checkpoint: Checkpoint | None, has_cursor: bool, wall: float) -> Position:
        """The position `checkpoint` names (a fresh full read for None)."""
        if checkpoint is None or (has_cursor and checkpoint.get("phase") != "incremental"):
            started = checkpoint.get("started") if checkpoint else None
            if not isinstance(started, str):
                started = dt.datetime.fromtimestamp(wall, dt.UTC).isoformat()
            page = checkpoint.get("page") if checkpoint else None
            high = checkpoint.get("high") if checkpoint else None
            known = newest_.known_from(checkpoint.get("newest")) if checkpoint else ()
            return cls("full", has_cursor, page, None, (), high, started, micros(high), known)
        if not has_cursor:
            return cls("full", False, checkpoint.get("page"))
        seen = checkpoint.get("seen")
        high = checkpoint.get("high")
        checked = checkpoint.get("checked")
        return cls(
            "incremental",
            True,
            checkpoint.get("page"),
            checkpoint.get("since"),
            tuple(str(name) for name in seen) if isinstance(seen, list) else (),
            high,
            None,
            micros(high),
            newest_.known_from(checkpoint.get("newest")),
            float(checked) if isinstance(checked, int | float) else None,
        )

    @property
    def lower_us(self) -> int | None:
        """Where an incremental read starts, before the look-back; None for a full read."""
        return micros(self.since) if self.phase == "incremental" else None

    def saw(self, value: JSONValue, at_us: int, key: str) -> Position:
        """The position after record `key` with cursor `value` (`at_us` microseconds)."""
        known = newest_.noted(self.newest, Known(key, value, at_us))
        if self._high_us is not None and at_us <= self._high_us:
            return self if known is self.newest else replace(self, newest=known)
        return replace(self, high=value, _high_us=at_us, newest=known)

    def floor_us(self, lookback_us: int) -> int | None:
        """The oldest cursor the next read's window reaches back to, as far as known now."""
        end = self._end()
        at = micros(end)
        return None if at is None else at - lookback_us

    def middle(self, page: JSONValue) -> Checkpoint:
        """The checkpoint after a page, with `page` the next one to read."""
        if not self.has_cursor:
            return {"phase": "full", "page": page}
        newest = newest_.to_json(self.newest)
        if self.phase == "full":
            mark: Checkpoint = {"phase": "full", "page": page, "high": self.high}
            return {**mark, "started": self.started, "newest": newest}
        return {
            "phase": "incremental",
            "since": self.since,
            "seen": list(self.seen),
            "page": page,
            "high": self.high,
            "newest": newest,
            "checked": self.checked,
        }

    def final(self, seen: list[str]) -> Checkpoint:
        """The checkpoint after the last page: caught up, and what the window holds."""
        if not self.has_cursor:
            return {"phase": "full", "page": None}
        mark: Checkpoint = {"phase": "incremental", "since": self._end(), "seen": list(seen)}
        return {**mark, "newest": newest_.to_json(self.newest), "checked": self.checked}

    def _end(self) -> JSONValue:
        """The `since` of the next read."""
        if self.phase == "incremental":
            old = micros(self.since)
            if self._high_us is None or (old is not None and old >= self._high_us):
                return self.since
            return self.high
        started = micros(self.started)
        if self._high_us is None or (started is not None and started < self._high_us):
            return self.started
        return self.high
