"""One flow's first sync under way: its first read compared, page by page, with the
destination's records listed in the store (engine/firstsync.py says when it runs).

A page's records are brought to the destination's names and columns (as the write would send
them), matched by key with the listed records, and judged: equal (dropped, counted as
matched), different (kept: an update) or missing (kept: a create). Where the tool assigns the
ids, each match's id goes into the identity map before the page is journaled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from syncwell.connectors.matching import Matching, NotComparable, matching_of
from syncwell.engine.coalesce import key_getter
from syncwell.engine.compare import digest_of, match_text
from syncwell.engine.guard import key_text
from syncwell.engine.listing import Opener, listed_records, listing, listing_spec
from syncwell.engine.writable import writable
from syncwell.errors import IntegrationFatalError
from syncwell.store import FirstSyncs, FirstSyncState, Identities, IdentityChanges, IdentityScope
from syncwell.store.codec import pack_values
from syncwell.store.first_syncs import Counterpart, Note
from syncwell.types import ChangeBatch, Clock, Op
from syncwell.workspace import Flow, RetryPolicy, Workspace
from syncwell.workspace.unsent import Unsent, unsent_of

__all__ = [
    "CompareCounts",
    "CompareOptions",
    "ComparePlan",
    "Comparison",
    "compare_plan",
    "uncompared",
]

log = structlog.get_logger("syncwell.firstsync")


@dataclass(frozen=True, slots=True)
class ComparePlan:
    """How one flow compares its first read with its destination (from the workspace)."""

    flow: str
    destination: str
    target: str
    matching: Matching
    source_key: tuple[str, ...]
    renames: Mapping[str, str]
    unsent: Unsent
    batch_size: int
    scope: IdentityScope | None
    """The identity map the matches fill, where the tool assigns the ids."""
    retry: RetryPolicy
    """The destination system's retries, for a page of its listing that fails transiently."""


def compare_plan(flow: Flow, workspace: Workspace) -> ComparePlan | NotComparable:
    """How `flow` compares before its first write, or why it cannot."""
    destination = workspace.systems[flow.destination]
    key = flow.destination_spec().key
    matching = matching_of(destination.settings, flow.target, key)
    if isinstance(matching, NotComparable):
        return matching
    scope = None
    if matching.assigned_id is not None:
        scope = IdentityScope(flow.destination, flow.target, flow.source)
    return ComparePlan(
        flow=flow.name,
        destination=flow.destination,
        target=flow.target,
        matching=matching,
        source_key=flow.key,
        renames=dict(flow.fields),
        unsent=unsent_of(flow, workspace),
        batch_size=flow.batch_size,
        scope=scope,
        retry=destination.retry,
    )


@dataclass(slots=True)
class CompareCounts:
    """What a comparison found so far (a plan prints them; a run counts `unchanged` as
    matched)."""

    listed: int = 0
    """Destination records listed."""
    creates: int = 0
    updates: int = 0
    unchanged: int = 0
    deletes: int = 0
    ambiguous: int = 0
    """Records whose match key several destination records share: written, and a write
    that must find the record (`write.find`) dead-letters them with the reason."""
    unmatched: int | None = None
    """Destination records no source record matched (left alone); known at the end."""


@dataclass(frozen=True, slots=True)
class CompareOptions:
    """How a comparison behaves: a run's (the default) or a plan's.

    Attributes:
        learn_ids: keep the ids of matched records in the identity map (a run does; a plan
            only reads it).
        strict: a destination that cannot be listed fails the comparison (a plan says so);
            otherwise the first sync writes every record, as it would without one.
        on_listed: hears how many destination records are listed so far (for progress).
    """

    learn_ids: bool = True
    strict: bool = False
    on_listed: Callable[[int], None] | None = None


@dataclass(slots=True)
class _Page:
    """One source page's verdicts, before they are kept."""

    kept: list[int] = dataclasses.field(default_factory=list)
    notes: dict[str, Note] = dataclasses.field(default_factory=dict)
    """By match key: what each source record did to the destination's record."""
    assigned: dict[str, tuple[str, bytes]] = dataclasses.field(default_factory=dict)


class Comparison:
    """One flow's first sync under way: `screen` each page of the source's first read,
    then `finish` when the read is whole.

    Args:
        plan: how the flow compares.
        records: where the destination's listed records are kept.
        identities: the identity map (read; written only with `learn_ids`).
        opener: connects to the destination system for its listing.
        clock: when the listing and the first sync end.
        state: the first sync as the store holds it (a listing it finished is reused).
        options: a run's comparison, or a plan's.
    """

    def __init__(
        self,
        plan: ComparePlan,
        records: FirstSyncs,
        identities: Identities,
        opener: Opener,
        clock: Clock,
        state: FirstSyncState,
        options: CompareOptions | None = None,
    ) -> None:
        self.plan = plan
        self.counts = CompareCounts(listed=state.listed)
        self._records = records
        self._identities = identities
        self._opener = opener
        self._clock = clock
        self._options = options or CompareOptions()
        self._off = False
        self._columns = state.columns if state.listed_at is not None else None
        self.matched = 0
        """Records this comparison matched for the first time (a look-back re-read of one
        matched before is dropped again, and not counted again)."""
        self.ends = True
        """Whether the first sync ends when this read is whole (engine/firstsync.py)."""

    async def screen(self, batch: ChangeBatch) -> ChangeBatch:
        """The changes of `batch` to journal: those the destination does not hold as they are."""
        if not len(batch):
            return batch
        batch = batch.decoded()
        sent = self._sent(batch)
        if self._off:
            return batch
        if self._columns is None:
            try:
                await self._list(sent.columns)
            except IntegrationFatalError as error:
                if self._options.strict:
                    raise
                await uncompared(self._records, self.plan.flow, error, self._clock)
                self._off = True
                return batch
        page = await self._judge(batch, sent)
        plan = self.plan
        notes = list(page.notes.values())
        await self._records.note(plan.flow, notes)
        self.matched += sum(note.first and note.outcome == "equal" for note in notes)
        if page.assigned and plan.scope is not None and self._options.learn_ids:
            # Before the page is journaled: its writes then find the ids, and update.
            await self._identities.apply(IdentityChanges(plan.scope, page.assigned))
        if len(page.kept) == len(batch):
            return batch
        return batch.select(page.kept)

    async def finish(self) -> FirstSyncState | None:
        """End the first sync (the source's first read is whole): count what the source did
        not match, and drop the listed records."""
        state = await self._records.finish(self.plan.flow, at=self._clock.wall())
        if state is not None:
            self.counts.unmatched = state.unmatched
        return state

    def _sent(self, batch: ChangeBatch) -> ChangeBatch:
        """The batch as the destination would receive it: its names, its columns."""
        renames = self.plan.renames
        columns = tuple(renames.get(column, column) for column in batch.columns)
        return writable(dataclasses.replace(batch, columns=columns), self.plan.unsent)

    async def _judge(self, batch: ChangeBatch, sent: ChangeBatch) -> _Page:
        plan, counts = self.plan, self.counts
        assert self._columns is not None
        columns = self._columns
        by = plan.matching.by
        by_at = [sent.columns.index(c) for c in by] if set(by) <= set(sent.columns) else None
        at = [sent.columns.index(c) if c in sent.columns else None for c in columns]
        # A column sent that the listing did not compare could differ unseen: write the row.
        comparable = set(sent.columns) <= set(columns)
        core_key = key_getter(batch.columns, plan.source_key)
        cores = [key_text(core_key(row)) for row in batch.rows]
        matches = [
            None if by_at is None else match_text([row[i] for i in by_at]) for row in sent.rows
        ]
        found = await self._records.counterparts(plan.flow, filter(None, matches))
        mapped = await self._mapped(cores)
        page = _Page()
        for index, row in enumerate(sent.rows):
            match, core = matches[index], cores[index]
            there = None if match is None else found.get(match)
            values = tuple(None if i is None else row[i] for i in at)
            digest = digest_of(columns, values) if comparable else None
            if batch.op(index) is Op.DELETE:
                counts.deletes += 1
            elif there is None or match is None:
                counts.creates += core not in mapped  # a mapped id: an update by that id
                counts.updates += core in mapped
                if match is not None and digest is not None:
                    page.notes.setdefault(match, Note(match, core, digest, "created"))
            elif there.copies > 1:
                counts.ambiguous += 1
            elif not _ours(there, match, core, page, mapped.get(core)):
                counts.updates += 1
            else:
                if there.remote_id is not None and core not in mapped:
                    packed = pack_values(_values(core_key(batch.rows[index])))
                    page.assigned[core] = (there.remote_id, packed)
                if _compare(page, there, match, core, digest):
                    counts.unchanged += 1
                    continue  # equal on both sides: not journaled, not written
                counts.updates += 1
            page.kept.append(index)
        return page

    async def _mapped(self, cores: list[str]) -> dict[str, str]:
        """The ids the identity map already holds for these source keys."""
        scope = self.plan.scope
        if scope is None:
            return {}
        known = await self._identities.known(scope, cores)
        return {key: remote for key, remote in known.items() if remote is not None}

    async def _list(self, columns: tuple[str, ...]) -> None:
        """List the destination's records, keeping a match key and digest of each."""
        plan = self.plan
        spec = listing_spec(plan.target, plan.matching, columns, plan.batch_size)
        await self._records.list_anew(plan.flow, columns)
        self.counts.listed = 0
        log.info("listing the destination to compare", flow=plan.flow, system=plan.destination)
        async for page in listing(self._opener, spec, plan.retry, self._clock):
            await self._records.add(plan.flow, listed_records(page, plan.matching, columns))
            self.counts.listed += len(page)
            if self._options.on_listed is not None:
                self._options.on_listed(self.counts.listed)
        await self._records.listed(plan.flow, at=self._clock.wall(), count=self.counts.listed)
        self._columns = columns


async def uncompared(
    records: FirstSyncs, flow: str, error: IntegrationFatalError, clock: Clock
) -> None:
    """The destination cannot be listed (a missing table, no right to read): its first sync
    writes every record, as without a comparison, and a write that cannot go says why."""
    said = "first sync writes every record: the destination cannot be listed"
    log.warning(said, flow=flow, error=str(error))
    await records.finish(flow, at=clock.wall())


def _compare(page: _Page, there: Counterpart, match: str, core: str, digest: bytes | None) -> bool:
    """Whether the source record equals its match in the destination; noted either way.

    A record that differs is noted with its own digest: once written, that is what the
    destination holds, so the look-back re-read of it is dropped instead of written again.
    """
    first = there.claimed is None and match not in page.notes
    if digest is not None and digest == there.digest:
        if first:
            page.notes[match] = Note(match, core, digest, "equal")
        return True
    if first or digest is not None:
        page.notes[match] = Note(match, core, digest or there.digest, "differs", first=first)
    return False


def _ours(there: Counterpart, match: str, core: str, page: _Page, mapped: str | None) -> bool:
    """Whether the destination's record at `match` is this source record's own: no other
    source record took it, and the identity map names no other id for this one."""
    taken = page.notes.get(match)
    claimed = taken.claimed if taken is not None else there.claimed
    if claimed is not None and claimed != core:
        return False
    return mapped is None or mapped == there.remote_id


def _values(key: object) -> tuple[object, ...]:
    return key if isinstance(key, tuple) else (key,)
