"""The conformance kit's destination checks: does a flow's destination keep the promises the
engine's delivery rests on?

Point it at a workspace, one flow whose destination is the system under test, and an object
that makes that flow's records (`SampleRecords`, in the source's column names, as the engine
carries them). It writes batches of them the way the engine's delivery does (`writes.py`:
renamed to the destination's names, screened by the engine's record guard where the
destination does not compare versions, through the identity map where the tool assigns ids)
and reads the destination back with its own connector after each write:

1. **write**: three new records arrive, each once, with every field as sent; where the tool
   assigns ids, each gets its own id in the identity map;
2. **same batch twice**: the same batch written again over a new connection (a retry after
   a restart) changes nothing: no second record, no new id, the same values;
3. **older version**: a newer version of a record arrives; an older one sent after it never
   overwrites it;
4. **lost id** (tools that assign ids): a create that reached the tool, whose id was never
   stored (a kill -9 before the commit), is not created again by the next write: found by
   `write.find`, sent under the same idempotency key, or refused with `RecordRejectedError`
   naming the record (a dead letter that says so);
5. **refused record**: a batch holding a record the tool refuses raises `RecordRejectedError`
   naming that record (or the engine finds it by halving), and the others arrive once;
6. **missing record**: a change to a record deleted in the destination raises
   `RecordMissingError` naming it (the flow's `missing:` policy then applies), or recreates it
   (an upsert); never a success with nothing written;
7. **delete**: every record the kit wrote is deleted; deleting them again (their ids still
   mapped: the tool answers 404) and deleting a record never written both succeed.

The kit writes to the flow's destination as configured: point it at a test table or a test
account. It keeps its own state store (a new SQLite file) and deletes every record it wrote.

    report = await check_destination(workspace, "contacts_out", MyRecords())
    assert_conformant(report)
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from syncwell.errors import RecordMissingError, RecordRejectedError
from syncwell.store import open_store
from syncwell.testing.observe import key_text as listed_key
from syncwell.testing.report import ConformanceReport, DestinationCheck, Outcome
from syncwell.testing.samples import SampleRecords, Samples, engine_key
from syncwell.testing.verdicts import Step, Verdicts
from syncwell.testing.writes import KitWriter
from syncwell.types import Op
from syncwell.workspace import Flow, Workspace

__all__ = ["DestinationOptions", "SampleRecords", "check_destination"]

_FIRST = (0, 1, 2)
_LOST, _BESIDE, _MISSING, _NEVER = 3, (4, 5), 1, 9


@dataclass(frozen=True, slots=True)
class DestinationOptions:
    """What the destination checks compare and where they keep state.

    Attributes:
        checks: the checks to run; others are reported skipped. The write always runs.
        compare: the destination's field names compared when records are read back; None:
            every field written. Leave out fields the destination's listing does not show
            as sent (a write-only field, one a body template renames).
        state_dir: where the kit's own state store goes; None: a temporary folder.
    """

    checks: frozenset[DestinationCheck] = frozenset(DestinationCheck)
    compare: frozenset[str] | None = None
    state_dir: Path | None = None


async def check_destination(
    workspace: Workspace,
    flow: str,
    samples: SampleRecords,
    options: DestinationOptions | None = None,
) -> ConformanceReport:
    """Run the destination checks against `flow`'s destination.

    Args:
        workspace: the loaded workspace; only `flow` is used.
        flow: the flow whose destination is checked.
        samples: makes the records written.
        options: which checks, which fields to compare, where to keep state.

    Returns:
        One result per check; `assert_conformant` turns it into a test assertion.
    """
    options = options or DestinationOptions()
    async with _kit_writer(workspace, flow, options.state_dir) as writer:
        run = _DestinationChecks(writer, samples, options)
        await run.all()
        return ConformanceReport(flow, run.verdicts.results())


@contextlib.asynccontextmanager
async def _kit_writer(
    workspace: Workspace, flow: str, state_dir: Path | None
) -> AsyncIterator[KitWriter]:
    """A writer for `flow` alone, with a new state store of the kit's own."""
    with tempfile.TemporaryDirectory(prefix="syncwell-conformance-") as temporary:
        folder = state_dir or Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        state = f"sqlite:///{folder / f'destination-{time.time_ns()}.db'}"
        alone = workspace.model_copy(
            update={"flows": {flow: workspace.flows[flow]}, "workflows": {}, "state": state}
        )
        store = await open_store(state)
        try:
            writer = KitWriter(alone, alone.flows[flow], store)
            await writer.start()
            yield writer
        finally:
            await store.close()


class _DestinationChecks:
    """One run of the destination checks, each building on what the last left."""

    def __init__(
        self, writer: KitWriter, samples: SampleRecords, options: DestinationOptions
    ) -> None:
        self.writer, self.options = writer, options
        self.flow: Flow = writer.flow
        self.samples = Samples(samples, writer.flow, options.compare)
        self.verdicts = Verdicts()
        self.written: set[int] = set()

    async def all(self) -> None:
        wanted = self.options.checks
        if not await self.verdicts.run(DestinationCheck.WRITE, self._write):
            for check in list(DestinationCheck)[1:]:
                self.verdicts.skip(check, "the write check failed")
            await self._clean_up()
            return
        steps: list[tuple[DestinationCheck, Step]] = [
            (DestinationCheck.REWRITE, self._rewrite),
            (DestinationCheck.STALE, self._stale),
            (DestinationCheck.LOST_ID, self._lost_id),
            (DestinationCheck.REFUSED, self._refused),
            (DestinationCheck.MISSING, self._missing),
            (DestinationCheck.DELETE, self._delete),
        ]
        for check, step in steps:
            if check in wanted:
                await self.verdicts.run(check, step)
            else:
                self.verdicts.skip(check, "not asked for (DestinationOptions.checks)")
        if DestinationCheck.DELETE not in wanted:
            await self._clean_up()

    # -- the checks ------------------------------------------------------------------

    async def _write(self) -> tuple[Outcome, str]:
        before = await self.writer.listing()
        ours = [*range(6), _NEVER]
        there = [self.samples.listed(n) for n in ours if self.samples.listed(n) in before]
        if there:
            return "failed", (
                f"the destination already holds records with the kit's keys ({', '.join(there)}):"
                " point the kit at an empty test destination, or give records other keys"
            )
        self.written.update(_FIRST)
        await self.writer.deliver(self.samples.batch(_FIRST, 1), isolate=False)
        listing = await self.writer.listing()
        found = [self.samples.differences(listing, n, 1) for n in _FIRST]
        problems = [problem for differences in found for problem in differences]
        detail = f"{len(_FIRST)} records written, {found.count([])} read back as sent"
        if self.writer.identities is not None:
            ids = [await self.writer.known(self.samples.key(n)) for n in _FIRST]
            mapped = [remote for remote in ids if remote is not None]
            detail += f"; {len(mapped)} ids the tool assigned in the map"
            if len(set(mapped)) != len(_FIRST):
                problems.append(f"the identity map holds {sorted(set(mapped))} for 3 records")
        return _outcome(problems), _joined(detail, problems)

    async def _rewrite(self) -> tuple[Outcome, str]:
        ids = [await self.writer.known(self.samples.key(n)) for n in _FIRST]
        await self.writer.deliver(self.samples.batch(_FIRST, 1), isolate=False)
        listing = await self.writer.listing()
        problems = [p for n in _FIRST for p in self.samples.differences(listing, n, 1)]
        again = [await self.writer.known(self.samples.key(n)) for n in _FIRST]
        if again != ids:
            problems.append(f"the ids changed from {ids} to {again}")
        detail = "the same 3 records written again over a new connection"
        detail += "; each is there once, as sent" if not problems else ""
        return _outcome(problems), _joined(detail, problems)

    async def _stale(self) -> tuple[Outcome, str]:
        if self.flow.version is None:
            return "skipped", "the flow has no version column"
        await self.writer.deliver(self.samples.batch([0], 3), isolate=False)
        listing = await self.writer.listing()
        problems = self.samples.differences(listing, 0, 3)
        if problems:
            name = repr(self.samples.listed(0))
            return "failed", _joined(f"version 3 of record {name} did not arrive", problems)
        done = await self.writer.deliver(self.samples.batch([0], 2), isolate=False)
        listing = await self.writer.listing()
        problems = self.samples.differences(listing, 0, 3)
        how = (
            "the engine's record guard dropped version 2 before the write (this destination "
            "does not compare versions itself)"
            if done.stale
            else "the destination kept version 3 when sent version 2"
        )
        return _outcome(problems), _joined(
            how if not problems else "version 2 overwrote 3", problems
        )

    async def _lost_id(self) -> tuple[Outcome, str]:
        if self.writer.identities is None:
            return "skipped", "the tool does not assign ids (no write.ids)"
        self.written.add(_LOST)
        first = await self.writer.deliver(self.samples.batch([_LOST], 1), isolate=False, crash=True)
        assert first.book is not None
        remote = first.book.assigned.get(self.samples.named(_LOST))
        if remote is None:
            return "failed", "the create gave no id to keep"
        second = await self.writer.deliver(self.samples.batch([_LOST], 1))
        listing = await self.writer.listing()
        count = len(listing.get(self.samples.listed(_LOST), ()))
        if count != 1:
            return (
                "failed",
                f"record {self.samples.listed(_LOST)!r} is there {count} times after the retry",
            )
        refusal = second.refused.get(self.samples.named(_LOST))
        if refusal is not None:
            await self.writer.remember_id(self.samples.key(_LOST), remote)  # as a person would
            return (
                "passed",
                f"not created again: refused with RecordRejectedError: {refusal.reason}",
            )
        now = await self.writer.known(self.samples.key(_LOST))
        if now != remote:
            return "failed", f"created once, but the map holds {now!r}, not the tool's {remote!r}"
        return "passed", "not created again: the retry found the record and kept its id"

    async def _refused(self) -> tuple[Outcome, str]:
        bad = self.samples.made.refused()
        if bad is None:
            return "skipped", "no refused record given (SampleRecords.refused)"
        key = self.samples.key_of(bad)
        named = engine_key(key)
        made = self.samples.made
        records = [made.record(_BESIDE[0], 1), bad, made.record(_BESIDE[1], 1)]
        self.written.update(_BESIDE)
        done = await self.writer.deliver(self.samples.of(records))
        listing = await self.writer.listing()
        problems = [p for n in _BESIDE for p in self.samples.differences(listing, n, 1)]
        if listed_key(key) in listing:
            problems.append(f"the refused record {named!r} is in the destination")
        if list(done.refused) != [named]:
            problems.append(f"set aside {sorted(done.refused) or 'nothing'}, not [{named!r}]")
            return "failed", _joined("", problems)
        error = done.refused[named]
        if isinstance(error, RecordMissingError):
            problems.append("it was taken for missing (RecordMissingError), not refused")
        how = "found by halving: the error named no key" if done.unnamed else "named by its key"
        return _outcome(problems), _joined(
            f"{named!r} refused, {how} ({error.reason}); the other 2 arrived", problems
        )

    async def _missing(self) -> tuple[Outcome, str]:
        remote = await self.writer.known(self.samples.key(_MISSING))
        try:
            await self.writer.deliver(self.samples.batch([_MISSING], 4, Op.DELETE), isolate=False)
        except RecordRejectedError as error:
            return "skipped", f"the record could not be deleted to make it missing: {error}"
        if remote is not None:
            # The tool lost the record; the map still holds its id, as after a delete there.
            await self.writer.remember_id(self.samples.key(_MISSING), remote)
        name = repr(self.samples.listed(_MISSING))
        try:
            await self.writer.deliver(self.samples.batch([_MISSING], 5), isolate=False)
        except RecordMissingError as error:
            if error.key != self.samples.named(_MISSING):
                return "failed", f"RecordMissingError names {error.key!r}, not {name}"
            return "passed", f"RecordMissingError names {name}: {error.reason}"
        except RecordRejectedError as error:
            return "failed", (
                f"RecordRejectedError, not RecordMissingError: the flow's `missing:` policy "
                f"(recreate, drop) cannot apply: {error.reason}"
            )
        listing = await self.writer.listing()
        problems = self.samples.differences(listing, _MISSING, 5)
        if problems:
            return "failed", _joined("the write succeeded, and the change is not there", problems)
        return "passed", f"record {name} recreated by the write (an upsert)"

    async def _delete(self) -> tuple[Outcome, str]:
        numbers = sorted(self.written)
        ids = {n: await self.writer.known(self.samples.key(n)) for n in numbers}
        deleting = self.samples.batch(numbers, 6, Op.DELETE)
        try:
            await self.writer.deliver(deleting, isolate=False)
        except Exception as error:  # which delete failed matters: said in the detail
            return "failed", f"deleting the {len(numbers)} records raised {_named(error)}"
        listing = await self.writer.listing()
        left = [self.samples.listed(n) for n in numbers if self.samples.listed(n) in listing]
        if left:
            return "failed", f"still there after their delete: {', '.join(left)}"
        for number, remote in ids.items():
            if remote is not None:  # the tool no longer holds them; the map says it does
                await self.writer.remember_id(self.samples.key(number), remote)
        again = "with their ids still mapped" if any(ids.values()) else ""
        try:
            await self.writer.deliver(deleting, isolate=False)
        except Exception as error:
            done = f"{len(numbers)} records deleted; deleting them again {again}"
            return "failed", f"{done} raised {_named(error)}"
        never = repr(self.samples.listed(_NEVER))
        try:
            await self.writer.deliver(self.samples.batch([_NEVER], 6, Op.DELETE), isolate=False)
        except Exception as error:
            return "failed", f"deleting {never}, never written, raised {_named(error)}"
        return "passed", (
            f"{len(numbers)} records deleted; deleting them again ({again or 'gone'}) and a "
            f"record never written ({never}) succeeded"
        )

    async def _clean_up(self) -> None:
        """Delete what the kit wrote when the delete check did not run."""
        with contextlib.suppress(Exception):  # best effort: the report is what matters
            await self.writer.deliver(self.samples.batch(sorted(self.written), 6, Op.DELETE))


def _named(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _outcome(problems: list[str]) -> Outcome:
    return "failed" if problems else "passed"


def _joined(detail: str, problems: list[str]) -> str:
    shown = problems[:5] + ([f"and {len(problems) - 5} more"] if len(problems) > 5 else [])
    return "; ".join(part for part in (detail, *shown) if part)
