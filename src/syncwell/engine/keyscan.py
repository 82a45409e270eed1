"""Key scans: list a source's keys now and then, and delete what is gone from it.

A read by cursor never shows a deleted record, and most APIs keep no tombstones. A flow with
`deletes: {detect: scan}` therefore lists its source's keys every `every` (the cheapest way
the source allows: keys only, by primary key) and the key ledger journals a delete for each
key it took in that the listing no longer holds (engine/ledger.py). The listing's pages are
marked in the store as they come, so memory stays flat however many keys there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from syncwell.connectors import KeyLister
from syncwell.engine.ledger import FlowLedger, PassOutcome
from syncwell.errors import StoreError, SyncwellError
from syncwell.store import Journal
from syncwell.types import StreamSpec

__all__ = ["ScanReport", "scan_keys"]

log = structlog.get_logger("syncwell.keyscan")


class ScanReport:
    """A finished scan: keys listed, how fast, and what its pass found."""

    def __init__(self, listed: int, seconds: float, outcome: PassOutcome) -> None:
        self.listed = listed
        self.seconds = seconds
        self.outcome = outcome

    @property
    def keys_per_s(self) -> float:
        """Keys listed per second."""
        return self.listed / self.seconds if self.seconds > 0 else float(self.listed)


async def scan_keys(
    ledger: FlowLedger,
    source: KeyLister,
    stream: StreamSpec,
    journal: Journal,
    stop: asyncio.Event,
) -> ScanReport | None:
    """List every key of `stream` and finish the ledger's pass; None when stopped midway.

    Raises:
        SyncwellError: the listing or the store failed; the pass is held with the reason
            (no key is taken for gone after an incomplete listing) and goes on next time.
    """
    started = time.monotonic()
    listed = 0
    await ledger.begin()
    pages = source.keys(stream)
    try:
        async for page in pages:
            await ledger.mark(page)
            listed += len(page)
            if stop.is_set():
                log.info("key scan stopped", flow=ledger.flow.name, listed=listed)
                return None
    except SyncwellError as error:
        with contextlib.suppress(StoreError):  # the reason is a courtesy; the raise says it
            await ledger.hold(f"the key scan stopped after {listed:,} keys: {error}")
        raise
    finally:
        await pages.aclose()  # type: ignore[attr-defined]  # its snapshot and lock, now
    outcome = await ledger.finish(journal)
    report = ScanReport(listed, time.monotonic() - started, outcome)
    log.info(
        "key scan done",
        flow=ledger.flow.name,
        listed=listed,
        seconds=round(report.seconds, 3),
        keys_per_s=round(report.keys_per_s),
        gone=outcome.gone,
        deleted=outcome.deleted,
        held=outcome.held is not None,
    )
    return report
