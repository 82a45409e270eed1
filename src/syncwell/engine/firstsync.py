"""A flow's first sync over data that already exists on both sides: compare before writing.

Starting a flow over a destination that already holds the records (a reverse flow, a second
install, a migration) used to write every one of them again: 1,080 equal rows PATCHed into a
tool. On a flow's first read (no checkpoint yet, or `syncwell resync`), the engine lists the
destination's records for the stream once, through the destination system's own `Source`,
keeping a match key and a digest of each in the store (store/first_syncs.py). Each page the
source's first read brings is then compared with them by key:

* a record equal on both sides (the fields the flow sends, in their normal form: engine/compare.py)
  is not journaled, not written and not counted as written: it is *matched*;
* a record that differs is journaled as usual, and written;
* a record the destination lacks is journaled, and created.

Where the tool assigns the ids, records are matched by a natural key (`write.find.by`) and the
tool's id of each match goes into the identity map, so the records written next (and every
later edit) update the right record instead of creating another.

Memory: one page of the source and its matches at a time; the destination's records sit in
the store (about 100 bytes each) until the first read finishes.
"""

from __future__ import annotations

import contextlib

import structlog

from syncwell.connectors.matching import NotComparable
from syncwell.engine.comparison import ComparePlan, Comparison, uncompared
from syncwell.engine.listing import Opener, listing, listing_spec
from syncwell.errors import IntegrationFatalError
from syncwell.store import FirstSyncs, Identities
from syncwell.types import Checkpoint, Clock
from syncwell.workspace import Flow

__all__ = ["FirstSync"]

log = structlog.get_logger("syncwell.firstsync")


class FirstSync:
    """A flow's first sync, as its intake sees it: at the start of each read, whether the
    read is (or resumes) the first sync, and so compares.

    Args:
        flow: the flow.
        plan: how it compares, or why it cannot (then every record is written, as before,
            and the run says so once).
        records: the store's first syncs.
        identities: the store's identity map.
        opener: connects to the destination system for its listing.
        clock: where time comes from.
    """

    def __init__(
        self,
        flow: Flow,
        plan: ComparePlan | NotComparable,
        records: FirstSyncs,
        identities: Identities,
        opener: Opener,
        clock: Clock,
    ) -> None:
        self.flow = flow
        self.plan = plan
        self._records = records
        self._identities = identities
        self._opener = opener
        self._clock = clock
        self._past = False

    async def begin(self, checkpoint: Checkpoint | None) -> Comparison | None:
        """The comparison of a read from `checkpoint`; None when the read needs none (the
        first sync finished, or the flow started before there were first syncs)."""
        name = self.flow.name
        if checkpoint is not None and self._past:
            return None  # known from an earlier read: no store round trip per read
        state = await self._records.state(name)
        under_way = state is not None and state.finished_at is None
        if checkpoint is not None and not under_way:
            self._past = True  # until a checkpoint goes (`syncwell resync`)
            return None
        if isinstance(self.plan, NotComparable):
            if checkpoint is None:
                log.warning(
                    "first sync writes every record: the destination is not compared",
                    flow=name,
                    reason=self.plan.reason,
                )
            return None
        if checkpoint is None and not (state is not None and under_way and state.listed_at):
            await self._records.begin(name, at=self._clock.wall())
            try:
                holds = await self._holds_records(self.plan)
            except IntegrationFatalError as error:
                await uncompared(self._records, name, error, self._clock)
                return None
            if not holds:
                # Nothing there to compare with: every record is a create, and the read
                # keeps its fast path (COPY text between PostgreSQL systems).
                log.info("first sync: the destination holds no records yet", flow=name)
                await self._records.listed(name, at=self._clock.wall(), count=0)
                await self._records.finish(name, at=self._clock.wall())
                return None
            state = await self._records.state(name)
        assert state is not None
        comparison = Comparison(
            self.plan, self._records, self._identities, self._opener, self._clock, state
        )
        # A read by cursor starts its first incremental read a look-back behind the full
        # read's start, and takes those records again: they are compared too, so the first
        # sync ends with that read. A flow without a cursor reads whole every time: one read.
        incremental = checkpoint is not None and checkpoint.get("phase") == "incremental"
        comparison.ends = incremental or self.flow.cursor is None
        return comparison

    async def _holds_records(self, plan: ComparePlan) -> bool:
        """Whether the destination holds any record of the stream: one page of one key."""
        spec = listing_spec(plan.target, plan.matching, (), batch_size=1)
        pages = listing(self._opener, spec, plan.retry, self._clock)
        async with contextlib.aclosing(pages):
            async for _ in pages:
                return True
        return False
