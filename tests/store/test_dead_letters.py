"""Dead letters: a replay's outcome is told from the journal and the dead letters after it."""

from __future__ import annotations

import dataclasses
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


async def _deliver(
    store: Store, entry_id: int, *, refused: bool, finished_at: float | None = None
) -> None:
    pending = await store.journal.pending("f", max_changes=100)
    (entry,) = [entry for entry in pending if entry.id == entry_id]
    dead = [_refused("pat.example.com", attempts=2)] if refused else []
    record = _record(len(dead))
    if finished_at is not None:  # the engine's clock, on another machine
        record = dataclasses.replace(record, started_at=finished_at, finished_at=finished_at)
    await store.journal.complete("f", [entry], record, dead)


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
    says it failed again, even when the engine's clock runs a minute behind the server that
    replayed it."""
    letter_id = await _dead_letter(state_store)
    await state_store.dead_letters.replay([letter_id])
    replayed = await state_store.dead_letters.get(letter_id)
    assert replayed is not None and replayed.replayed_as is not None
    assert replayed.resolved_at is not None
    behind = replayed.resolved_at - 60
    await _deliver(state_store, replayed.replayed_as, refused=True, finished_at=behind)
    assert await state_store.dead_letters.outcomes([replayed]) == {letter_id: "failed again"}
    (again,) = await state_store.dead_letters.list()
    assert again.id != letter_id and again.attempts == 2


async def test_the_same_change_refused_twice_is_kept_once(state_store: Store) -> None:
    """A change refused again (a look-back re-read), in the same delivery or a later one, and
    read once as rows and once as COPY text, is one open dead letter: same key, op, version."""
    as_text = ChangeBatch(("id", "email"), [], copy_text=b"1\tx\n")
    twice = [_refused("x"), dataclasses.replace(_refused("x"), batch=as_text)]
    for _ in range(2):
        entry_id = await state_store.journal.append("f", ChangeBatch(("id",), [(1,)]), None)
        assert entry_id is not None
        entry = JournalEntry(entry_id, "f", ChangeBatch(("id",), []))
        await state_store.journal.complete("f", [entry], _record(1), twice)
    assert len(await state_store.dead_letters.list()) == 1
    other = dataclasses.replace(_refused("x"), version="8")
    entry_id = await state_store.journal.append("f", ChangeBatch(("id",), [(1,)]), None)
    assert entry_id is not None
    entry = JournalEntry(entry_id, "f", ChangeBatch(("id",), []))
    await state_store.journal.complete("f", [entry], _record(1), [other])
    assert len(await state_store.dead_letters.list()) == 2  # a newer version is another change


async def test_only_a_change_not_kept_open_is_a_new_dead_letter(state_store: Store) -> None:
    """What the engine counts as dead-lettered: a change refused twice in one delivery is
    new once, one already kept open is not new, and one whose letter was discarded is new."""
    journal = state_store.journal
    twice = [_refused("x"), _refused("x")]
    assert await journal.new_dead_letters("f", twice) == twice[:1]
    letter_id = await _dead_letter(state_store)
    assert await journal.new_dead_letters("f", twice) == []
    assert await journal.new_dead_letters("g", twice) == twice[:1], "another flow's is its own"
    await state_store.dead_letters.discard([letter_id])
    assert await journal.new_dead_letters("f", twice) == twice[:1]
