"""Writes to a tool that assigns its own ids, has no upsert and never answers 409: ids taken
from the create's answer, updates and deletes by them, lookups by natural key, and no second
create where the first may have gone through."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from syncwell.connectors.http import HttpDestination, open_destination
from syncwell.connectors.identity import IdentityBook
from syncwell.errors import (
    IntegrationFatalError,
    RecordMissingError,
    RecordRejectedError,
    TransientError,
)
from syncwell.types import ChangeBatch, Op, StreamSpec
from tests.connectors.http import tracker
from tests.connectors.http.conftest import http_settings
from tests.connectors.http.tracker import ISSUES_FIND, ISSUES_WRITE, Tracker, TrackerServer

STREAM = StreamSpec(name="issues", key=("external_id",), version="v")


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


@pytest.fixture
def state(tracker_url: str) -> Tracker:
    return tracker.reset()


@pytest.fixture
async def open_tracker(tracker_url: str) -> AsyncIterator[Any]:
    opened: list[HttpDestination] = []

    async def open_(write: dict[str, Any], **fields: Any) -> HttpDestination:
        settings = http_settings(tracker_url, streams={"issues": {"write": write}}, **fields)
        destination = await open_destination("tracker", settings)
        opened.append(destination)
        return destination

    yield open_
    for destination in opened:
        await destination.aclose()


def issues(*subjects: str, ops: list[Op] | None = None) -> ChangeBatch:
    rows = [(f"k{i}", subject, i) for i, subject in enumerate(subjects)]
    return ChangeBatch(("external_id", "subject", "v"), rows, ops)


async def test_create_keeps_the_id_and_the_next_write_updates_by_it(
    state: Tracker, open_tracker: Any
) -> None:
    """The id in the create's answer is learned; with it known, an edit is a PUT to that id
    and the tracker still holds one issue (before: a second POST, a duplicate)."""
    destination = await open_tracker(ISSUES_WRITE)
    first = IdentityBook()
    await destination.write_identified(STREAM, issues("printer jams"), first)
    assert first.assigned == {"k0": "101"} and state.posts == 1
    second = IdentityBook(known=first.assigned)
    await destination.write_identified(STREAM, issues("printer jams daily"), second)
    assert state.posts == 1 and state.puts == 1
    assert [issue["subject"] for issue in state.issues.values()] == ["printer jams daily"]


async def test_the_id_can_come_from_the_location_header(state: Tracker, open_tracker: Any) -> None:
    """`ids.header: Location` takes the last segment of the new record's URL."""
    write = {**ISSUES_WRITE, "ids": {"field": "id", "header": "Location"}}
    destination = await open_tracker(write)
    book = IdentityBook()
    await destination.write_identified(STREAM, issues("a"), book)
    assert book.assigned == {"k0": "101"}


async def test_find_updates_the_record_that_already_exists(
    state: Tracker, open_tracker: Any
) -> None:
    """With `find:`, a record the map does not know is looked up by its natural key: the
    existing issue is updated and its id learned, nothing is created."""
    state.issues[7] = {"id": 7, "subject": "printer jams", "status": "new"}
    destination = await open_tracker({**ISSUES_WRITE, "find": ISSUES_FIND})
    book = IdentityBook()
    await destination.write_identified(STREAM, issues("printer jams"), book)
    assert book.assigned == {"k0": "7"} and state.posts == 0 and state.puts == 1


async def test_a_filter_the_tool_ignores_matches_no_stranger(
    state: Tracker, open_tracker: Any
) -> None:
    """The tracker answers every issue to the lookup: only one whose `by` fields equal the
    record's counts, so a new record is created instead of overwriting another."""
    state.issues[7] = {"id": 7, "subject": "someone else's issue"}
    state.filters_ignored = True
    destination = await open_tracker({**ISSUES_WRITE, "find": ISSUES_FIND})
    book = IdentityBook()
    await destination.write_identified(STREAM, issues("printer jams"), book)
    assert state.issues[7]["subject"] == "someone else's issue"
    assert book.assigned == {"k0": "101"} and state.posts == 1


async def test_two_records_found_is_a_refusal_that_says_so(
    state: Tracker, open_tracker: Any
) -> None:
    """Two issues with the same subject: which one is meant is unknown, so the record is
    refused with the reason, and nothing is written."""
    state.issues[7] = {"id": 7, "subject": "dup"}
    state.issues[8] = {"id": 8, "subject": "dup"}
    destination = await open_tracker({**ISSUES_WRITE, "find": ISSUES_FIND})
    with pytest.raises(RecordRejectedError, match="2 records in tracker have the same subject"):
        await destination.write_identified(STREAM, issues("dup"), IdentityBook())
    assert state.posts == 0 and state.puts == 0


async def test_a_lookup_the_tool_refuses_refuses_only_its_record(
    state: Tracker, open_tracker: Any
) -> None:
    """A find whose query the tool refuses (400: a quote in the value breaks the query)
    refuses that record, named, with the reason; it is no longer taken for a refused read
    that stops the whole flow. The next record is created."""
    state.refused_in_finds = "'"
    destination = await open_tracker({**ISSUES_WRITE, "find": ISSUES_FIND})
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write_identified(STREAM, issues("O'Brien"), IdentityBook())
    assert caught.value.key == "k0"
    assert caught.value.reason == "its lookup by write.find was refused: Wrong query"
    book = IdentityBook()
    await destination.write_identified(STREAM, issues("printer jams"), book)
    assert book.assigned == {"k0": "101"} and state.posts == 1


async def test_a_create_whose_answer_was_lost_is_not_sent_again_blind(
    state: Tracker, open_tracker: Any
) -> None:
    """The tracker stores the issue and never answers: the timeout marks the record
    uncertain. Without find or idempotency the retry is refused with the reason; with find it
    finds the stored issue and updates it. Either way the tracker holds one issue."""
    state.hang_creates = True
    destination = await open_tracker(ISSUES_WRITE, timeout_s=0.5)
    book = IdentityBook()
    with pytest.raises(TransientError):
        await destination.write_identified(STREAM, issues("printer jams"), book)
    assert book.uncertain == {"k0"} and len(state.issues) == 1
    state.hang_creates = False
    with pytest.raises(RecordRejectedError, match="may have reached tracker"):
        await destination.write_identified(STREAM, issues("printer jams"), book)
    finding = await open_tracker({**ISSUES_WRITE, "find": ISSUES_FIND})
    await finding.write_identified(STREAM, issues("printer jams"), book)
    assert book.assigned == {"k0": "101"} and len(state.issues) == 1 and state.posts == 1


async def test_an_idempotency_key_makes_the_second_create_the_first(
    state: Tracker, open_tracker: Any
) -> None:
    """Where the tool honours an idempotency key, an uncertain create is sent again with the
    same key, and the tool answers with the issue it made the first time."""
    state.honour_idempotency = True
    destination = await open_tracker({**ISSUES_WRITE, "idempotency_header": "Idempotency-Key"})
    book = IdentityBook(uncertain={"k0"})
    first = IdentityBook()
    await destination.write_identified(STREAM, issues("a"), first)
    await destination.write_identified(STREAM, issues("a"), book)
    assert book.assigned == first.assigned == {"k0": "101"} and len(state.issues) == 1


async def test_an_update_of_an_issue_deleted_there_is_missing(
    state: Tracker, open_tracker: Any
) -> None:
    """A PUT to an id the tracker no longer has is a RecordMissingError naming the record."""
    destination = await open_tracker(ISSUES_WRITE)
    with pytest.raises(RecordMissingError) as caught:
        await destination.write_identified(STREAM, issues("a"), IdentityBook(known={"k0": "55"}))
    assert caught.value.key == "k0" and "missing in tracker" in caught.value.reason


async def test_recreate_creates_a_missing_record_anew(state: Tracker, open_tracker: Any) -> None:
    """A key marked to recreate is created (its old id forgotten), not updated."""
    destination = await open_tracker(ISSUES_WRITE)
    book = IdentityBook(known={"k0": "55"}, recreate={"k0"})
    await destination.write_identified(STREAM, issues("a"), book)
    assert book.assigned == {"k0": "101"} and state.puts == 0


async def test_deletes_go_by_id_and_skip_what_the_tool_never_got(
    state: Tracker, open_tracker: Any
) -> None:
    """A delete with a known id removes that issue and forgets the id; one with no id (never
    created there) sends nothing; a 404 (already gone) is done."""
    state.issues[101] = {"id": 101, "subject": "a"}
    destination = await open_tracker(ISSUES_WRITE)
    book = IdentityBook(known={"k0": "101", "k2": "999"})
    batch = issues("a", "b", "c", ops=[Op.DELETE, Op.DELETE, Op.DELETE])
    await destination.write_identified(STREAM, batch, book)
    assert state.issues == {} and state.deletes == 1 and book.gone == {"k0", "k2"}


async def test_an_answer_without_the_id_is_a_fatal_error_with_the_fix(
    state: Tracker, open_tracker: Any
) -> None:
    """The answer holds the id at issue.id, not at id: the error names the path to set, and
    the record is uncertain (it was created) so nothing creates it twice."""
    destination = await open_tracker({**ISSUES_WRITE, "ids": {"field": "id"}})
    book = IdentityBook()
    with pytest.raises(IntegrationFatalError, match=r"set write\.ids\.answer"):
        await destination.write_identified(STREAM, issues("a"), book)
    assert book.uncertain == {"k0"}


@pytest.mark.parametrize(
    ("write", "words"),
    [
        ({"create": {"path": "/x"}, "find": ISSUES_FIND}, "needs write.ids"),
        ({**ISSUES_WRITE, "upsert": {"path": "/x"}}, "exclude each other"),
        ({"ids": {"field": "id"}, "update": {"path": "/x/{id}"}}, "add write.create"),
    ],
)
def test_settings_that_cannot_work_say_why(write: dict[str, Any], words: str) -> None:
    """Each impossible combination is refused at load, with the fix."""
    with pytest.raises(ValidationError, match=words):
        http_settings("http://x", streams={"issues": {"write": write}})


async def test_an_edit_with_no_update_endpoint_is_refused_not_dropped(
    state: Tracker, open_tracker: Any
) -> None:
    """Ids kept but no `update:`: an edit of an issue the tracker holds is refused with the
    fix, never counted as written while nothing was sent."""
    write = {key: value for key, value in ISSUES_WRITE.items() if key != "update"}
    destination = await open_tracker(write)
    with pytest.raises(RecordRejectedError, match=r"no write\.update"):
        await destination.write_identified(STREAM, issues("a"), IdentityBook(known={"k0": "7"}))


async def test_a_lookup_at_a_wrong_listing_path_is_loud_not_a_create(
    state: Tracker, open_tracker: Any
) -> None:
    """`find:` at a path the tracker does not have answers 404: the flow stops on an error
    naming the path, and nothing is created (taken as "none found", every record would have
    been created again and again)."""
    find = {**ISSUES_FIND, "path": "/nowhere.json"}
    destination = await open_tracker({**ISSUES_WRITE, "find": find})
    with pytest.raises(IntegrationFatalError, match="nowhere"):
        await destination.write_identified(STREAM, issues("a"), IdentityBook())
    assert state.posts == 0


async def test_a_404_at_a_lookup_url_of_its_own_means_none_found(
    state: Tracker, open_tracker: Any
) -> None:
    """A lookup URL naming the record (`/issues/by-subject/{subject}`, as HubSpot's
    get-by-email) answers 404 for no such record: it is created, once."""
    find = {**ISSUES_FIND, "path": "/issues/by-subject/{subject}.json", "params": {}}
    destination = await open_tracker({**ISSUES_WRITE, "find": find})
    book = IdentityBook()
    await destination.write_identified(STREAM, issues("a"), book)
    assert state.posts == 1 and book.assigned == {"k0": "101"}
