"""Incremental reads: filtered by the cursor minus the look-back, caught-up checkpoints."""

from __future__ import annotations

from typing import Any

from syncwell.connectors.http.cursors import micros
from tests.connectors.http.api import ApiState, contact
from tests.connectors.http.conftest import http_settings, ids, read_all, spec

CURSOR_STREAM = {
    "path": "/cursor/items",
    "params": {"limit": 100},
    "records": "results",
    "pagination": {"style": "cursor", "cursor_path": "paging.next.after", "param": "after"},
    "incremental": {"param": "updated_since", "format": "iso"},
}
OFFSET_STREAM = {
    "path": "/offset/items",
    "records": "data",
    "total": "total",
    "pagination": {"style": "offset"},
    "incremental": {"param": "modified_after", "format": "unix_ms"},
}


def settings_for(base_url: str, read: dict[str, Any]) -> Any:
    return http_settings(base_url, streams={"contacts": {"read": read}})


async def test_full_read_then_caught_up_with_look_back(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """After a full read the next read asks from the last cursor minus the look-back."""
    api.reset(contacts=250)
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    stream = spec(lookback_s=300)
    full = await read_all(source, stream)
    assert len(ids(full)) == 250
    assert [mark["phase"] for _, mark in full] == ["full", "full", "incremental"]
    done = full[-1][1]
    assert done["since"] == "2024-01-01T04:09:00Z"  # the newest record's cursor
    assert len(done["seen"]) == 6  # the records in the 5 minutes behind it
    assert "updated_since" not in api.requests[0].query

    api.requests.clear()
    first = await read_all(source, stream, done)
    checked = first[-1][1]
    # The filter's self-check asks first (just before the 5 newest records), then the read.
    assert [r.query["updated_since"] for r in api.requests] == [
        "2024-01-01T04:04:59Z",
        "2024-01-01T04:04:00Z",
    ]
    assert len(first[0][0]) == 0 and {**checked, "checked": None} == done

    api.requests.clear()
    idle = await read_all(source, stream, checked)
    assert [r.query["updated_since"] for r in api.requests] == ["2024-01-01T04:04:00Z"]
    assert idle == [(idle[0][0], checked)] and len(idle[0][0]) == 0


async def test_late_and_changed_records_are_read_once(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """A record committed late inside the look-back and a changed one are read, others not."""
    api.reset(contacts=250)
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    stream = spec(lookback_s=300)
    done = (await read_all(source, stream))[-1][1]
    api.contacts[10] = contact(10, minutes=250)  # changed after the read
    api.contacts.append(contact(999, minutes=247))  # committed late, older than the newest
    pairs = await read_all(source, stream, done)
    assert sorted(ids(pairs)) == ["c0010", "c0999"]
    after = pairs[-1][1]
    assert after["since"] == "2024-01-01T04:10:00Z"
    again = await read_all(source, stream, after)
    assert ids(again) == [] and again[-1][1] == after


async def test_unix_ms_filter_and_records_older_than_the_look_back_are_dropped(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """The filter is written in unix ms; records the API returns from before it are skipped."""
    api.reset(contacts=20)
    source = await source_for(settings_for(server_url, OFFSET_STREAM))
    stream = spec(lookback_s=60)
    checkpoint = {"phase": "incremental", "since": "2024-01-01T00:15:00Z", "seen": []}
    pairs = await read_all(source, stream, checkpoint)
    sent = int(api.requests[-1].query["modified_after"])  # after the check's sample and ask
    assert sent * 1000 == micros("2024-01-01T00:14:00Z")
    assert ids(pairs) == [f"c{i:04d}" for i in range(14, 20)]


async def test_first_full_read_since_is_its_start_when_records_are_newer(
    api: ApiState, server_url: str, source_for: Any, clock: Any
) -> None:
    """Records changed during a long full read are read again: since is the read's start."""
    api.reset(contacts=3)
    api.contacts.append(contact(3, minutes=60 * 24 * 365 * 20))  # far in the future
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    done = (await read_all(source, spec()))[-1][1]
    assert abs(micros(done["since"]) - clock.wall() * 1_000_000) <= 1


async def test_stream_without_cursor_reads_in_full_every_time(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """Without a cursor there is no incremental phase: each read walks everything."""
    api.reset(contacts=5)
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    stream = spec(cursor=None)
    first = await read_all(source, stream)
    second = await read_all(source, stream, first[-1][1])
    assert ids(first) == ids(second) == [f"c{i:04d}" for i in range(5)]
    assert "updated_since" not in api.requests[-1].query


async def test_malformed_records_keyless_skipped_bad_cursor_kept(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """A record without a key is skipped; a wrong-typed key or unreadable cursor is kept."""
    api.reset(contacts=2)
    api.contacts += [
        {"id": None, "updatedAt": "2024-01-01T00:00:00Z"},
        {"updatedAt": "2024-01-01T00:00:00Z"},
        {"id": 7, "updatedAt": "not a time"},
        {"id": "c9", "updatedAt": ["?"], "extra": {"nested": [1, 2]}},
    ]
    api.contacts.sort(key=lambda r: str(r.get("id")))
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    pairs = await read_all(source, spec())
    batch = pairs[0][0]
    assert sorted(ids(pairs)) == ["7", "c0000", "c0001", "c9"]
    assert batch.columns == ("id", "updatedAt", "properties", "extra")
    nested = batch.rows[[str(r[0]) for r in batch.rows].index("c9")]
    assert nested[3] == {"nested": [1, 2]} and nested[2] is None


async def test_dotted_columns_read_nested_fields(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """Configured columns may be dotted paths into nested objects; a missing one is None."""
    api.reset(contacts=2)
    source = await source_for(settings_for(server_url, CURSOR_STREAM))
    stream = spec(columns=("id", "properties.email", "properties.phone"))
    batch = (await read_all(source, stream))[0][0]
    assert batch.columns == ("id", "properties.email", "properties.phone")
    assert batch.rows[0] == ("c0000", "user0@example.com", None)


async def test_estimate_reads_the_total(api: ApiState, server_url: str, source_for: Any) -> None:
    """With a `total` path the estimate is the API's count; without one it is None."""
    api.reset(contacts=42)
    counted = await source_for(settings_for(server_url, {**CURSOR_STREAM, "total": "total"}))
    plain = await source_for(settings_for(server_url, CURSOR_STREAM))
    assert await counted.estimate(spec()) == 42
    assert await plain.estimate(spec()) is None
