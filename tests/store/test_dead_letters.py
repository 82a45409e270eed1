"""Dead letters: a replay's outcome is told from the journal and the dead letters after it."""

from __future__ import annotations

import time

import pytest

from syncwell.store import Store
from syncwell.store.journal import DeadLetterDraft, DeliveryRecord, JournalEntry
from syncwell.types import ChangeBatch, Op

pytestmark = pytest.mark.asyncio


def _refused(email: str, attempts: int = 1) -> DeadLetterDraft:
    batch = ChangeBatch(("id", "email"), [(1, email)])
    return DeadLetterDraft("1", Op.UPSERT, "7", batch, "email is not an address", "X", attempts)


def _record(dead: int) -> DeliveryRecord:
    now = time.time()
    return DeliveryRecord(1, 1 - dead, dead, 1, 0, 0, now, now)


async def _deliver(store: Store, entry_id: int, *, refused: bool) -> None:
    pending = await store.journal.pending("f", max_changes=100)
    (entry,) = [entry for entry in pending if entry.id == entry_id]
    dead = [_refused("pat.example.com", attempts=2)] if refused else []
    await store.journal.complete("f", [entry], _record(len(dead)), dead)


async def _dead_letter(store: Store) -> int:
    entry_id = await store.journal.append("f", ChangeBatch(("id", "email"), [(1, "x")]), None)
    assert entry_id is not None
    await store.journal.complete(
        "f", [JournalEntry(entry_id, "f", ChangeBatch(("id",), []))], _record(1), [_refused("x")]
    )
    (letter,) = await store.dead_letters.list()
    return letter.id


async def test_a_replay_waits_then_is_delivered(state_store: Store) -> None:
    """A replayed letter waits while its entry is in the journal, and is delivered once the
    entry leaves it without a new dead letter; open letters have no outcome."""
    letter_id = await _dead_letter(state_store)
    assert await state_store.dead_letters.outcomes(await state_store.dead_letters.list()) == {}
    assert await state_store.dead_letters.replay([letter_id]) == [letter_id]
    replayed = await state_store.dead_letters.get(letter_id)
    assert replayed is not None and replayed.replayed_as is not None
    assert await state_store.dead_letters.outcomes([replayed]) == {letter_id: "waiting"}
    await _deliver(state_store, replayed.replayed_as, refused=False)
    assert await state_store.dead_letters.outcomes([replayed]) == {letter_id: "delivered"}


async def test_a_replay_refused_again_is_told_apart(state_store: Store) -> None:
    """A replay the destination refuses again becomes a new open letter, and the old one
    says it failed again."""
    letter_id = await _dead_letter(state_store)
    await state_store.dead_letters.replay([letter_id])
    replayed = await state_store.dead_letters.get(letter_id)
    assert replayed is not None and replayed.replayed_as is not None
    await _deliver(state_store, replayed.replayed_as, refused=True)
    assert await state_store.dead_letters.outcomes([replayed]) == {letter_id: "failed again"}
    (again,) = await state_store.dead_letters.list()
    assert again.id != letter_id and again.attempts == 2
