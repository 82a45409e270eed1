"""Thin webhook events are settled by the keys a read brought, not by any read finishing."""

from __future__ import annotations

from syncwell.engine.rereads import RereadDesk
from syncwell.store import InboundEvent, Store
from syncwell.store.inbox import Reread
from syncwell.types import ChangeBatch
from syncwell.workspace import Flow

FLOW = Flow(
    name="contacts",
    source="crm",
    destination="core",
    stream="contacts",
    target="contacts",
    key=("email",),
    cursor="updated_at",
)


async def _read(desk: RereadDesk, store: Store, *emails: str) -> None:
    asked = await desk.before_read(store.inbox, FLOW)
    assert asked is not None
    asked.saw(ChangeBatch(("email", "updated_at"), [(e, "2026-01-01") for e in emails]))
    await desk.after_read(store.inbox, asked)


async def test_a_re_read_waits_for_its_key_and_is_given_up_after_three_reads(
    state_store: Store,
) -> None:
    """A thin event names a@x, b@x and 'whatever changed': the read brings a@x only, so b@x
    waits (a source whose list lags its webhooks brings it later); a key no read brings is
    dropped after three reads, not on the first read that happens to finish."""
    inbox = state_store.inbox
    keys = ["a@x", "b@x", None, "gone@x"]
    await inbox.take(
        [InboundEvent("crm", "t1", 1.0, rereads=[Reread("contacts", k) for k in keys])]
    )
    desk = RereadDesk(["contacts"])
    await _read(desk, state_store, "a@x")
    assert await inbox.pending_rereads("contacts") is not None
    waiting = await inbox.waiting_rereads("contacts", 10**9, 100)
    assert sorted(str(key) for _, key in waiting) == ["b@x", "gone@x"]
    await _read(desk, state_store, "b@x")
    assert [key for _, key in await inbox.waiting_rereads("contacts", 10**9, 100)] == ["gone@x"]
    await _read(desk, state_store)
    assert await inbox.pending_rereads("contacts") is None, "given up after its third miss"
