"""Thin webhook events, fulfilled by the flow's own read (docs/webhooks.md, thin events).

A thin event names records without carrying them. Its keys are journaled as re-reads in the
same transaction as its id (store/inbox.py), before the sender's 2xx; then the flow's intake is
woken at once, and the first read that began after the re-reads were stored, once it finishes,
fulfils them. A read that fails fulfils nothing, and a crash loses nothing: the rows wait in
the store for the next run's first read. The read is the flow's incremental one (by cursor, or
a digest read without one), so this holds only for a flow whose read does see every change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import structlog

from syncwell.engine.waiting import sleep_or_stop
from syncwell.errors import StoreError
from syncwell.store import Inbox
from syncwell.types import Clock

__all__ = ["RereadDesk"]

log = structlog.get_logger("syncwell.rereads")


class RereadDesk:
    """Wakes a flow's intake when thin events ask, and settles their re-reads after a read."""

    def __init__(self, flows: Iterable[str]) -> None:
        self._wake = {flow: asyncio.Event() for flow in flows}

    def asked(self, flows: Iterable[str]) -> None:
        """Thin events for `flows` are durable: read them now, not at the next interval."""
        for flow in flows:
            if flow in self._wake:
                self._wake[flow].set()

    async def before_read(self, inbox: Inbox, flow: str) -> int | None:
        """The newest re-read of `flow` waiting as a read begins (what it will fulfil)."""
        self._wake[flow].clear()  # a request from here on wakes the read after this one
        try:
            pending = await inbox.pending_rereads(flow)
        except StoreError as error:
            log.warning("could not look up re-reads", flow=flow, error=str(error))
            return None
        return None if pending is None else pending[0]

    async def after_read(self, inbox: Inbox, flow: str, upto: int | None) -> int:
        """The read that began with `upto` waiting has finished: those re-reads are done."""
        if upto is None:
            return 0
        try:
            done = await inbox.fulfil_rereads(flow, upto)
        except StoreError as error:  # kept: the next read fulfils them again, harmlessly
            log.warning("could not settle re-reads", flow=flow, error=str(error))
            return 0
        log.info("thin webhook events read", flow=flow, rereads=done)
        return done

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
