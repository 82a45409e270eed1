"""The incremental filter checks itself: a filter that misses changes stops the read, loudly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from syncwell.errors import IntegrationFatalError
from syncwell.testing import FakeClock
from tests.connectors.http.api import ApiState, contact
from tests.connectors.http.conftest import http_settings, ids, read_all, spec
from tests.connectors.http.filter_api import serving

EQUAL = {"path": "/op/items", "incremental": {"params": {"modified": "{since}"}}}
SINCE = {"path": "/op/items", "incremental": {"params": {"modified": ">={since}"}}}
IGNORED = {"path": "/op/items", "incremental": {"params": {"modified_after": "{since}"}}}


@pytest.fixture(scope="module")
def filter_url() -> Iterator[str]:
    with serving() as url:
        yield url


def settings_for(base_url: str, read: dict[str, Any], **fields: Any) -> Any:
    streams = {"contacts": {"read": {"records": "results", **read}}}
    return http_settings(base_url, streams=streams, **fields)


async def test_a_filter_read_as_equal_to_stops_the_first_incremental_read(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """`modified=<time>` means "equal to" here: the check fails, naming what it sent and got."""
    api.reset(contacts=20)
    settings = settings_for(
        filter_url,
        {**EQUAL, "params": {"api_token": "t0p-secret", "limit": 100}},
        auth={"type": "api_key", "key": "k3y-secret", "query_param": "key"},
    )
    source = await source_for(settings)
    done = (await read_all(source, spec()))[-1][1]
    assert [n[0] for n in done["newest"]] == [f"c00{i}" for i in range(19, 14, -1)]
    api.contacts[3] = contact(3, minutes=500)  # the edit a trusting read would never see
    with pytest.raises(IntegrationFatalError) as raised:
        await read_all(source, spec(), done)
    said = str(raised.value)
    assert "incremental filter of stream 'contacts' (params {'modified': '{since}'})" in said
    assert "sent as GET /op/items?api_token=***&limit=100&modified=2024-01-01T00:14:59Z" in said
    assert "it returned 0 record(s)" in said and "c0019 (2024-01-01T00:19:00Z)" in said
    assert "'>={since}'" in said and "syncwell probe" in said
    assert "t0p-secret" not in said and "k3y-secret" not in said
    assert raised.value.system == "crm"


async def test_a_working_filter_passes_and_is_checked_again_after_an_hour(
    api: ApiState, filter_url: str, source_for: Any, clock: FakeClock
) -> None:
    """The check runs after the first full read, then not until `every_s` has passed."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, SINCE))
    mark = (await read_all(source, spec()))[-1][1]
    counts = []
    for advance in (0, 60, 3600):
        clock.advance(advance)
        api.requests.clear()
        mark = (await read_all(source, spec(), mark))[-1][1]
        counts.append(len(api.requests))
    assert counts == [2, 1, 2]  # check + read, read, check + read
    assert mark["checked"] == clock.wall()


async def test_a_deleted_newest_record_is_no_false_alarm(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """Four of the five newest records deleted since: the fifth proves the filter works."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, SINCE))
    done = (await read_all(source, spec()))[-1][1]
    del api.contacts[15:19]
    assert ids(await read_all(source, spec(), done)) == []


async def test_an_ignored_filter_warns_but_loses_nothing(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """An unknown parameter is ignored by the API: every record comes back; a warning says so."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, IGNORED))
    done = (await read_all(source, spec(lookback_s=0)))[-1][1]
    api.contacts[3] = contact(3, minutes=500)
    with capture_logs() as logs:
        pairs = await read_all(source, spec(lookback_s=0), done)
    assert ids(pairs) == ["c0003"]
    warned = [entry for entry in logs if entry["log_level"] == "warning"]
    assert "seems to ignore the filter" in warned[0]["said"]
    assert "14 record(s) came back older than asked for" in warned[0]["said"]
    assert "ignore the filter" in warned[1]["event"] and warned[1]["count"] == 18


async def test_an_answer_longer_than_the_check_reads_is_inconclusive_not_fatal(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """Pages sorted by id, the newest records beyond the pages read: a warning, not a stop."""
    api.reset(contacts=250)
    read = {
        "path": "/cursor/items",
        "params": {"limit": 100},
        "records": "results",
        "pagination": {"style": "cursor", "cursor_path": "paging.next.after", "param": "after"},
        "incremental": {"param": "updated_since", "check": {"max_pages": 1}},
    }
    source = await source_for(http_settings(server_url, streams={"contacts": {"read": read}}))
    done = (await read_all(source, spec()))[-1][1]
    for i in range(150):
        api.contacts[i] = contact(i, minutes=1000 + i)
    with capture_logs() as logs:
        pairs = await read_all(source, spec(), done)
    assert len(ids(pairs)) == 150
    warned = [entry["said"] for entry in logs if entry["log_level"] == "warning"]
    assert "more pages remain, so the check cannot tell" in warned[0]
    assert pairs[-1][1]["checked"] is not None  # not asked again on every poll


async def test_the_probe_samples_the_newest_records_when_no_checkpoint_is_given(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """Without a checkpoint the newest records come from a first full page."""
    api.reset(contacts=20)
    good = await source_for(settings_for(filter_url, SINCE))
    bad = await source_for(settings_for(filter_url, EQUAL))
    passed = await good.check_filter(spec())
    missed = await bad.check_filter(spec())
    assert passed is not None and passed.outcome == "passed" and passed.found == 5
    assert missed is not None and missed.outcome == "missed" and missed.came_back == 0
    api.contacts.clear()
    assert await good.check_filter(spec()) is None  # nothing to ask back for


async def test_a_checkpoint_without_newest_records_samples_them_and_still_fails(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """A checkpoint written before the check existed: the first pages name records to ask for."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, EQUAL))
    old = {"phase": "incremental", "since": "2024-01-01T00:19:00Z", "seen": []}
    with pytest.raises(IntegrationFatalError, match="none of the 5 newest records"):
        await read_all(source, spec(), old)
    good = await source_for(settings_for(filter_url, SINCE))
    mark = (await read_all(good, spec(), old))[-1][1]
    assert mark["checked"] is not None and len(mark["newest"]) == 5


async def test_an_empty_stream_is_looked_at_again_after_every_s(
    api: ApiState, filter_url: str, source_for: Any, clock: FakeClock
) -> None:
    """Nothing to ask back for: no failure, and no sample on every poll either."""
    api.reset(contacts=0)
    source = await source_for(settings_for(filter_url, EQUAL))
    mark = (await read_all(source, spec()))[-1][1]
    api.requests.clear()
    mark = (await read_all(source, spec(), mark))[-1][1]
    again = (await read_all(source, spec(), mark))[-1][1]
    assert len(api.requests) == 3 and again == mark  # sample + read, then the read alone


async def test_the_newest_records_deleted_since_are_replaced_not_fatal(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """All five newest records gone (no tombstones): records read just now prove the filter."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, SINCE))
    done = (await read_all(source, spec()))[-1][1]
    del api.contacts[15:20]
    with capture_logs() as logs:
        mark = (await read_all(source, spec(), done))[-1][1]
    assert [n[0] for n in mark["newest"]] == [f"c00{i}" for i in range(14, 9, -1)]
    said = next(e["said"] for e in logs if e["log_level"] == "warning")
    assert said.startswith("the 5 newest records read before did not come back (deleted since?)")


async def test_an_equal_to_filter_misses_the_records_read_just_now_too(
    api: ApiState, filter_url: str, source_for: Any
) -> None:
    """The confirmation round asks for fresh records; they miss as well, and the read fails."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, EQUAL))
    done = (await read_all(source, spec()))[-1][1]
    del api.contacts[15:20]
    with pytest.raises(IntegrationFatalError, match="did not come back either"):
        await read_all(source, spec(), done)
