"""The webhook inbox on both state stores: ids deduplicated, changes journaled, newest seen."""

from __future__ import annotations

from syncwell.store import InboundChange, InboundEvent, Store
from syncwell.types import Op


def _event(event_id: str, key: str, version: float) -> InboundEvent:
    change = InboundChange(
        "contacts", "contacts", ("email", "v"), (key, version), Op.UPSERT, key, version
    )
    return InboundEvent("crm", event_id, 1.0, (change,))


async def test_each_event_id_is_taken_once_within_a_group_and_across_groups(
    state_store: Store,
) -> None:
    """A repeated id is a duplicate in the same group and in a later one; nothing doubles."""
    first = await state_store.inbox.take(
        [_event("a", "x@y", 1), _event("b", "z@y", 1), _event("a", "x@y", 1)]
    )
    assert first == [True, True, False]
    assert await state_store.inbox.take([_event("b", "z@y", 1), _event("c", "x@y", 2)]) == [
        False,
        True,
    ]
    entries = await state_store.journal.pending("contacts", max_changes=100)
    assert [len(entry.batch) for entry in entries] == [2, 1]


async def test_the_newest_version_seen_is_kept_whatever_the_arrival_order(
    state_store: Store,
) -> None:
    """Versions 3, then 1 and 2 of one record: the store remembers 3 as seen."""
    await state_store.inbox.take([_event("e3", "x@y", 3)])
    await state_store.inbox.take([_event("e1", "x@y", 1), _event("e2", "x@y", 2)])
    states = await state_store.record_versions.states("crm", "contacts", ["x@y"])
    assert states["x@y"].seen_version == 3


async def test_old_ids_are_forgotten_after_the_dedupe_period(state_store: Store) -> None:
    """`forget_before` drops ids; the same id is then taken again as new."""
    await state_store.inbox.take([_event("old", "x@y", 1)])
    assert await state_store.inbox.forget_before(cutoff=10**12) == 1
    assert await state_store.inbox.take([_event("old", "x@y", 1)]) == [True]


async def test_rereads_are_kept_with_their_event_and_settled_up_to_a_read(
    state_store: Store,
) -> None:
    """A thin event's re-reads land with its id (a duplicate adds none); settling up to the
    newest seen when a read began leaves the ones that came after it."""
    from syncwell.store.inbox import Reread

    def thin(event_id: str, *keys: str | None) -> InboundEvent:
        return InboundEvent("crm", event_id, 1.0, rereads=[Reread("contacts", k) for k in keys])

    inbox = state_store.inbox
    assert await inbox.pending_rereads("contacts") is None
    assert await inbox.take([thin("t1", "a@x", "b@x"), thin("t1", "a@x")]) == [True, False]
    pending = await inbox.pending_rereads("contacts")
    assert pending is not None and pending[1] == 2
    await inbox.take([thin("t2", None)])  # arrives while the read is under way
    assert await inbox.fulfil_rereads("contacts", pending[0]) == 2
    later = await inbox.pending_rereads("contacts")
    assert later is not None and later[1] == 1 and later[0] > pending[0]
    assert await inbox.pending_rereads("companies") is None
