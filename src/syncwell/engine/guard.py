"""The engine's own record guard, for what a destination can't do by itself.

A database destination keeps newest-wins in its merge. An HTTP API just takes what it is sent,
and in two-way sync a change syncwell wrote comes back as a "new" change from the other side.
So for those flows, before a batch is written, the guard drops:

* **stale changes**: older than the newest version syncwell has seen of, or written to, that
  record in the destination (unless this flow's source wins conflicts);
* **echoes**: changes whose values are what syncwell itself last wrote to the source (the
  other direction of a two-way sync), so nothing ping-pongs between the two systems;
* **conflict losers**: with a named side winning, changes to records that side has changed
  and syncwell has not yet delivered (they are still in its flow's journal).

And it remembers what is about to be written, before the write: the echo may arrive before
the write's answer does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from syncwell.engine.coalesce import key_getter
from syncwell.store import Journal, RecordState, RecordVersions
from syncwell.types import ChangeBatch, Op
from syncwell.versions import Comparable, canonical, comparable, is_newer

__all__ = ["GuardPlan", "GuardTally", "RecordGuard", "key_text"]


@dataclass(frozen=True, slots=True)
class GuardPlan:
    """What the guard does for one flow; the runner derives it from the workspace."""

    source_system: str
    source_stream: str
    destination_system: str
    destination_stream: str
    key: tuple[str, ...]
    version: str | None
    check_versions: bool
    """Drop changes older than what was seen of or written to the destination's record."""
    check_echoes: bool
    """Drop changes whose values syncwell last wrote to the source (two-way)."""
    remember_values: bool
    """Remember what is written, so the other direction can recognise its echo (two-way)."""
    losing_to: str | None = None
    """The flow (other direction) whose pending changes win over this flow's."""
    losing_key: tuple[str, ...] = ()
    """That flow's key columns, in its source's names."""
    ignored: frozenset[str] = frozenset()
    """Columns left out of echo comparison: versions and cursors each system sets itself."""


@dataclass(slots=True)
class GuardTally:
    """What the guard dropped from one batch."""

    stale: int = 0
    echoes: int = 0
    lost_conflicts: int = 0
    kept: list[int] = field(default_factory=list)


class RecordGuard:
    """Screens a flow's batches before they are written, and notes what gets written."""

    def __init__(self, plan: GuardPlan, versions: RecordVersions, journal: Journal) -> None:
        self.plan = plan
        self._versions = versions
        self._journal = journal

    async def screen(self, batch: ChangeBatch) -> tuple[ChangeBatch, GuardTally]:
        """The batch without stale changes, echoes and conflict losers."""
        plan = self.plan
        batch = batch.decoded()
        keys = [key_text(k) for k in map(key_getter(batch.columns, plan.key), batch.rows)]
        written = (
            await self._versions.states(plan.destination_system, plan.destination_stream, keys)
            if plan.check_versions
            else {}
        )
        echoed = (
            await self._versions.states(plan.source_system, plan.source_stream, keys)
            if plan.check_echoes
            else {}
        )
        contested = await self._pending_keys(plan.losing_to) if plan.losing_to else set()
        at_version = _column(batch, plan.version)
        tally = GuardTally()
        for index, key in enumerate(keys):
            row = batch.rows[index]
            version = comparable(row[at_version]) if at_version is not None else None
            if key in contested:
                tally.lost_conflicts += 1
            elif key in written and _stale(version, written[key]):
                tally.stale += 1
            elif key in echoed and self._is_echo(batch, index, echoed[key]):
                tally.echoes += 1
            else:
                tally.kept.append(index)
        # Once a person's change to a record passes, what syncwell wrote there is history: a
        # later change back to those values is a person's too. (An echo itself keeps them, so a
        # look-back re-read of it is still known.)
        passed = {keys[index] for index in tally.kept}
        spent = {key for key in passed if echoed.get(key) and echoed[key].written_values}
        if spent:
            await self._versions.forget_written(plan.source_system, plan.source_stream, spent)
        if len(tally.kept) == len(batch):
            return batch, tally
        return batch.select(tally.kept), tally

    async def remember(self, batch: ChangeBatch, renames: dict[str, str]) -> None:
        """Note each change as written to the destination, before it is."""
        plan = self.plan
        if not (plan.check_versions or plan.remember_values) or not len(batch):
            return
        batch = batch.decoded()
        at_version = _column(batch, plan.version)
        names = [renames.get(column, column) for column in batch.columns]
        keyed = key_getter(batch.columns, plan.key)
        noted: list[tuple[str, Comparable | None, dict[str, object] | None]] = []
        for index, row in enumerate(batch.rows):
            version = comparable(row[at_version]) if at_version is not None else None
            values = None
            if plan.remember_values and batch.op(index) is Op.UPSERT:
                values = {
                    name: canonical(value)
                    for name, value in zip(names, row, strict=True)
                    if name not in plan.ignored
                }
            noted.append((key_text(keyed(row)), version, values))
        await self._versions.note_written(plan.destination_system, plan.destination_stream, noted)

    def _is_echo(self, batch: ChangeBatch, index: int, state: RecordState) -> bool:
        if state.written_values is None or batch.op(index) is not Op.UPSERT:
            return False
        row = batch.rows[index]
        written = state.written_values
        compared = 0
        for column, value in zip(batch.columns, row, strict=True):
            if column in self.plan.ignored or column in self.plan.key:
                continue
            # Every field the change carries must be what syncwell wrote: a field it never
            # wrote (owned by the other side) changing is a person's change, not an echo.
            if column not in written or canonical(value) != written[column]:
                return False
            compared += 1
        return compared > 0

    async def _pending_keys(self, flow: str) -> set[str]:
        # The other direction's backlog is small when it runs in realtime; bounded anyway.
        entries = await self._journal.pending(flow, max_changes=50_000)
        keys: set[str] = set()
        for entry in entries:
            batch = entry.batch.decoded()
            keyed = key_getter(batch.columns, self.plan.losing_key)
            keys.update(key_text(keyed(row)) for row in batch.rows)
        return keys


def _stale(version: Comparable | None, state: RecordState) -> bool:
    """Older than what was seen of or written to the destination's record (same kinds only)."""
    if version is None:
        return False
    return any(
        known is not None
        and isinstance(known, str) == isinstance(version, str)
        and is_newer(known, version)
        for known in (state.written_version, state.seen_version)
    )


def _column(batch: ChangeBatch, name: str | None) -> int | None:
    if name is None or name not in batch.columns:
        return None
    return batch.columns.index(name)


def key_text(key: object) -> str:
    """A key as people read it: `42`, or `["eu", "42"]` for a key of several columns."""
    if isinstance(key, tuple):
        return json.dumps([str(part) for part in key])
    return str(key)
