"""Proof that a write stuck: written records read back and compared with what was sent.

A tool can answer 200 and not keep a field. So after a batch is written, its records are read
back from the destination, in one go where it can (engine/drift.py compares them) and a field
that came back different is drift: counted per field in the store, per minute in the
measurements, and judged for the flow's `drift` incident (measure/incidents.py).

Which records: the first `verify.first` a flow writes (over the store's history), then, with
`verify.always` or while the flow drifts, a `verify.sample` share of each batch. A flow that
drifts keeps verifying, so its incident can close on evidence that the drift is gone.

Off the critical path: the read-back runs in the background while the next batches are
written, and never holds one up. A key written again while its read-back is in flight is not
judged by that read-back (it may see the newer write); the next one judges it. A batch written
while two verifications are still in flight is not read back (verification never runs far
behind; the first records are then taken from later batches). Once a flow has read back its
first records and is neither kept on nor drifting, a batch costs two attribute reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from syncwell.connectors import Destination, unverifiable
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.verify import Verifiable, key_text
from syncwell.engine.drift import Compared, compare
from syncwell.engine.pairs import reverse_of
from syncwell.measure import DriftWindow, MinuteRecorder
from syncwell.store import Store, VerifiedBatch
from syncwell.types import ChangeBatch, Clock, Op, StreamSpec
from syncwell.workspace import Flow, Workspace
from syncwell.workspace.verify import Verify

__all__ = ["FlowVerifier", "VerifyPlan", "flow_verifier"]

log = structlog.get_logger("syncwell.verify")

WINDOW_S = 300.0
"""How far back the drift incident looks (5 minutes)."""
_QUEUED_MAX = 2
_REMEMBERED = 10_000
"""Records whose last verified values are remembered, so the same write seen twice (a read
that looks back, a delivery repeated after a crash) is read back once."""


@dataclass(frozen=True, slots=True)
class VerifyPlan:
    """What one flow verifies.

    Attributes:
        flow: the flow's name.
        settings: its `verify:`.
        spec: the destination stream as written (the destination's names); its `cursor` is
            the destination's own last-change column where a two-way pair reads it by one
            (a record changed there after the write is not judged), else None.
        source_key: the key in the source's names (batches before they are renamed).
    """

    flow: str
    settings: Verify
    spec: StreamSpec
    source_key: tuple[str, ...]


def flow_verifier(
    flow: Flow,
    workspace: Workspace,
    writer: Destination,
    store: Store,
    clock: Clock,
    recorder: MinuteRecorder | None = None,
) -> FlowVerifier | None:
    """The verifier of `flow`'s writes; None when it verifies nothing, or cannot (said once
    in the log, as `syncwell check` says it)."""
    if not flow.verify.on:
        return None
    gap = unverifiable(workspace.systems[flow.destination].settings, flow.target)
    if gap is not None or not isinstance(writer, Verifiable):
        reason = gap or "its connector cannot read records back"
        log.warning("writes are not verified", flow=flow.name, reason=reason)
        return None
    reverse = reverse_of(flow, workspace.flows)
    changed = None if reverse is None else reverse.cursor
    spec = dataclasses.replace(flow.destination_spec(), cursor=changed)
    plan = VerifyPlan(flow.name, flow.verify, spec, flow.key)
    return FlowVerifier(plan, writer, store, clock, recorder)


class FlowVerifier:
    """Reads back one flow's written records in the background and counts its drift.

    Args:
        plan: what the flow verifies.
        reader: the flow's destination.
        store: where what it finds is kept.
        clock: the engine's clock.
        recorder: the per-minute measurements.
        rng: chooses the sampled records (tests pass a seeded one).
    """

    def __init__(
        self,
        plan: VerifyPlan,
        reader: Verifiable,
        store: Store,
        clock: Clock,
        recorder: MinuteRecorder | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.plan = plan
        self._reader = reader
        self._store = store
        self._clock = clock
        self._recorder = recorder
        self._rng = rng or random.Random()  # noqa: S311  (a sample, not a secret)
        self._seen: int | None = None  # records chosen so far, the store's history included
        self.drifting = False
        """Whether the flow drifts now: it then keeps verifying whatever `first` says."""
        self.totals = Compared()
        """What this process found, for /metrics."""
        self._unsaved = Compared()
        self._window: deque[tuple[float, int, int, Counter[str]]] = deque()
        self._tail: asyncio.Future[None] | None = None
        self._pending: list[_Pending] = []
        self._told: set[str] = set()
        self._checked: dict[str, int] = {}

    @property
    def idle(self) -> bool:
        """Whether nothing more is verified for now: past the first records, neither kept
        on nor drifting (known once the store's history is read)."""
        settings = self.plan.settings
        return (
            self._seen is not None
            and self._seen >= settings.first
            and not (settings.always or self.drifting)
        )

    async def clear_of(self, batch: ChangeBatch) -> None:
        """Before `batch` (the source's names) is written: learn the flow's history on the
        first call; a key of `batch` that a verification in flight reads is not judged by
        it (its read may see this write)."""
        await self._load()
        if not self._pending:
            return
        batch = batch.decoded()
        for index, key in enumerate(_keys(batch, self.plan.source_key)):
            text = key_text(key)
            for pending in self._pending:
                sent = pending.keys.get(text)
                if sent is not None and sent != hash(repr(batch.rows[index])):
                    pending.rewritten.add(text)  # the same values again prove the same

    def written(
        self,
        batch: ChangeBatch,
        renamed: Callable[[ChangeBatch], ChangeBatch],
        book: IdentityBook,
        refused: Iterable[str] = (),
    ) -> None:
        """`batch` (the source's names) was written, `renamed` gives it as the destination
        took it: read back a choice of its records in the background. `refused`: keys set
        aside as dead letters."""
        if self.idle or not len(batch) or len(self._pending) >= _QUEUED_MAX:
            return
        chosen, keys = self._choose(batch.decoded(), frozenset(refused) | frozenset(book.gone))
        if not keys:
            return
        pending = _Pending(keys)
        self._pending.append(pending)
        work = self._verify(renamed(chosen), book, pending, self._clock.wall(), self._tail)
        self._tail = pending.task = asyncio.ensure_future(work)

    async def close(self, *, finish: bool = True) -> None:
        """Finish the verifications under way (or, without `finish`, drop them: a stop does
        not wait on read-backs), and store what they found."""
        tasks = [pending.task for pending in self._pending if pending.task is not None]
        if tasks and not finish:
            for task in tasks:
                task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        await self.flush()

    def window(self, now: float) -> DriftWindow:
        """What the last 5 minutes of reading back found, for the drift incident."""
        self._forget(now)
        fields: Counter[str] = Counter()
        verified = drifted = 0
        for _, checked, differed, named in self._window:
            verified += checked
            drifted += differed
            fields.update(named)
        names = tuple(name for name, _ in fields.most_common())
        return DriftWindow(verified, drifted, self.plan.settings.drift_incident_above, names)

    async def _verify(
        self,
        chosen: ChangeBatch,
        book: IdentityBook,
        pending: _Pending,
        written_at: float,
        previous: asyncio.Future[None] | None,
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])  # one read-back at a time, in write order
            spec = self.plan.spec
            found = await self._reader.read_written(spec, chosen, book)
            found = {key: held for key, held in found.items() if key not in pending.rewritten}
            ignore = frozenset(self.plan.settings.ignore)
            self._keep(compare(chosen, found, spec, ignore, written_at))
        except Exception as error:  # a verification never fails a delivery; it says so
            log.warning("written records not read back", flow=self.plan.flow, error=str(error))
        finally:
            self._pending.remove(pending)

    async def _load(self) -> None:
        """Read how many records the flow verified before, and whether it drifted."""
        if self._seen is not None:
            return
        flow = self.plan.flow
        self._seen = await self._store.verifications.verified(flow)
        opened = await self._store.incidents.list(open_only=True)
        self.drifting = any(i.flow == flow and i.cause == "drift" for i in opened)

    def _choose(
        self, batch: ChangeBatch, skipped: frozenset[str]
    ) -> tuple[ChangeBatch, dict[str, int]]:
        """The upserts of `batch` to read back, and their keys with a digest of their values:
        all up to the flow's first `first`, then a sample while kept on or drifting. Not dead
        letters, nor records the tool no longer holds."""
        settings, seen = self.plan.settings, self._seen or 0
        left = max(0, settings.first - seen)
        further = settings.always or self.drifting
        chosen: list[int] = []
        keys: dict[str, int] = {}
        checked = self._checked
        for index, key in enumerate(_keys(batch, self.plan.source_key)):
            if not (left or further):
                break  # the first records are all chosen, and no more are wanted
            if not left and self._rng.random() >= settings.sample:
                continue
            text = key_text(key)
            if batch.op(index) is not Op.UPSERT or text in skipped:
                continue
            values = hash(repr(batch.rows[index]))
            if checked.get(text) == values:
                continue  # this very write was read back already
            left = max(0, left - 1)
            if len(checked) >= _REMEMBERED:
                checked.clear()
            checked[text] = values
            chosen.append(index)
            keys[text] = values
        self._seen = seen + len(chosen)
        return batch.select(chosen), keys

    def _keep(self, result: Compared) -> None:
        """Fold what one read-back found into the window, the totals, the minute and what
        the next flush stores; say once per field that it did not stick."""
        now = self._clock.wall()
        self._window.append((now, result.verified, result.drifted, result.fields))
        window = self.window(now)
        if window.verified:
            self.drifting = window.drifted / window.verified > window.above
        _add(self.totals, result)
        _add(self._unsaved, result)
        for name, (key, sent, read) in result.examples.items():
            if name not in self._told:
                self._told.add(name)
                log.warning(
                    "a written field did not stick",
                    flow=self.plan.flow,
                    field=name,
                    key=key,
                    sent=sent,
                    read=read,
                )
        if result.missing and "" not in self._told:
            self._told.add("")
            log.warning("written records are gone on reading back", flow=self.plan.flow)
        if self._recorder is not None:
            self._recorder.verified(self.plan.flow, result.verified, result.drifted)

    async def flush(self) -> None:
        """Add what was found since the last flush to the store (with the measurements,
        every few seconds: not a transaction per batch beside the journal's own)."""
        found, self._unsaved = self._unsaved, Compared()
        batch = VerifiedBatch(
            found.verified, found.drifted, found.missing, found.fields, found.examples
        )
        try:
            await self._store.verifications.add(self.plan.flow, batch, self._clock.wall())
        except BaseException:
            _add(found, self._unsaved)  # kept for the next flush, with what came meanwhile
            self._unsaved = found
            raise

    def _forget(self, now: float) -> None:
        while self._window and self._window[0][0] <= now - WINDOW_S:
            self._window.popleft()


@dataclass(slots=True)
class _Pending:
    """A verification in flight: the keys it reads (with a digest of the values written),
    and those written again with other values meanwhile."""

    keys: dict[str, int]
    rewritten: set[str] = field(default_factory=set)
    task: asyncio.Future[None] | None = None


def _keys(batch: ChangeBatch, key: tuple[str, ...]) -> Iterable[list[object]]:
    at = [batch.columns.index(column) for column in key]
    return ([row[i] for i in at] for row in batch.rows)


def _add(into: Compared, found: Compared) -> None:
    into.verified += found.verified
    into.drifted += found.drifted
    into.missing += found.missing
    into.unread += found.unread
    into.superseded += found.superseded
    into.fields.update(found.fields)
    into.examples.update(found.examples)
