"""Thin webhook events, fulfilled by the flow's own read (docs/webhooks.md, thin events).

A thin event names records without carrying them. Its keys are journaled as re-reads in the
same transaction as its id (store/inbox.py), before the sender's 2xx; then the flow's intake is
woken at once, and the first read that began after the re-reads were stored, once it finishes,
fulfils those whose keys it brought. A key it did not bring waits for the next read, and is
dropped with a warning after three. A read that fails fulfils nothing, and a crash loses
nothing: the rows wait in the store for the next run's first read. The read is the flow's
incremental one (by cursor, or a digest read without one), so this holds only for a flow
whose read does see every change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import key_text
from syncwell.engine.waiting import sleep_or_stop
from syncwell.errors import StoreError
from syncwell.store import Inbox
from syncwell.types import ChangeBatch, Clock
from syncwell.workspace import Flow

__all__ = ["Asked", "RereadDesk"]

log = structlog.get_logger("syncwell.rereads")

_CHECKED = 10_000
"""Re-reads a read checks one by one at most; past that, a whole read fulfils them all."""
_GIVE_UP_AFTER = 3
"""Reads that may miss a re-read's key before it is dropped with a warning."""


@dataclass(slots=True)
class Asked:
    """The re-reads a read began with, and the keys it has seen so far.

    Attributes:
        flow: the flow being read.
        upto: the newest re-read id the read is to fulfil.
        rows: the re-reads (id, key text; None: whatever changed), or None when too many.
        seen: the keys of the records the read brought.
    """

    flow: Flow
    upto: int
    rows: list[tuple[int, str | None]] | None
    seen: set[str] = field(default_factory=set)

    def saw(self, batch: ChangeBatch) -> None:
        """Note the keys of a page of the read (before any screening)."""
        if self.rows is None or not len(batch):
            return
        batch = batch.decoded()
        if not all(column in batch.columns for column in self.flow.key):
            return
        key_of = key_getter(batch.columns, self.flow.key)
        self.seen.update(key_text(key) for key in map(key_of, batch.rows))


class RereadDesk:
    """Wakes a flow's intake when thin events ask, and settles their re-reads after a read."""

    def __init__(self, flows: Iterable[str]) -> None:
        self._wake = {flow: asyncio.Event() for flow in flows}

    def asked(self, flows: Iterable[str]) -> None:
        """Thin events for `flows` are durable: read them now, not at the next interval."""
        for flow in flows:
            if flow in self._wake:
                self._wake[flow].set()

    async def before_read(self, inbox: Inbox, flow: Flow) -> Asked | None:
        """The re-reads of `flow` waiting as a read begins: what it is to fulfil."""
        self._wake[flow.name].clear()  # a request from here on wakes the read after this one
        try:
            pending = await inbox.pending_rereads(flow.name)
            if pending is None:
                return None
            rows = await inbox.waiting_rereads(flow.name, pending[0], _CHECKED + 1)
        except StoreError as error:
            log.warning("could not look up re-reads", flow=flow.name, error=str(error))
            return None
        return Asked(flow, pending[0], rows if len(rows) <= _CHECKED else None)

    async def after_read(self, inbox: Inbox, asked: Asked | None) -> None:
        """The read that began with `asked` waiting has finished whole: the re-reads whose
        keys it saw (and those naming no key) are done. One whose key it did not see waits
        for the next read, and after `_GIVE_UP_AFTER` reads without it is dropped with a
        warning (the source does not list it: deleted since, or its list lags its webhooks).
        """
        if asked is None:
            return
        name = asked.flow.name
        try:
            if asked.rows is None:  # too many to check one by one: the read covers them all
                count = await inbox.fulfil_rereads(name, asked.upto)
                log.info("thin webhook events read", flow=name, rereads=count)
                return
            missed = [i for i, key in asked.rows if key is not None and key not in asked.seen]
            waiting = set(missed)
            done = [i for i, _ in asked.rows if i not in waiting]
            given_up = await inbox.settle_rereads(done, missed, give_up_after=_GIVE_UP_AFTER)
        except StoreError as error:  # kept: the next read settles them, harmlessly
            log.warning("could not settle re-reads", flow=name, error=str(error))
            return
        log.info("thin webhook events read", flow=name, rereads=len(done), waiting=len(missed))
        if given_up:
            log.warning(
                "thin webhook events named records the source does not list; given up after "
                f"{_GIVE_UP_AFTER} reads (deleted since, or its list lags its webhooks)",
                flow=name,
                keys=[key for _, key in given_up][:20],
                count=len(given_up),
            )

    async def sleep(self, flow: str, clock: Clock, seconds: float, stop: asyncio.Event) -> None:
        """Sleep like `sleep_or_stop`, cut short when a thin event asks for `flow`."""
        wake = self._wake.get(flow)
        if wake is None or wake.is_set():
            return
        waiter = asyncio.ensure_future(wake.wait())
        sleeper = asyncio.ensure_future(sleep_or_stop(clock, seconds, stop))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()
