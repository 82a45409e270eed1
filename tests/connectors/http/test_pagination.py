"""Every pagination style walks every record exactly once, and resumes from its checkpoint."""

from __future__ import annotations

from typing import Any

import pytest

from syncwell.errors import TransientError
from syncwell.types import Checkpoint
from tests.connectors.http.api import ApiState, Fault
from tests.connectors.http.conftest import RecordingBudget, http_settings, ids, read_all, spec

ALL = [f"c{i:04d}" for i in range(250)]

STYLES: dict[str, dict[str, Any]] = {
    "cursor": {
        "path": "/cursor/items",
        "params": {"limit": 100},
        "records": "results",
        "pagination": {"style": "cursor", "cursor_path": "paging.next.after", "param": "after"},
    },
    "next_url": {
        "path": "/nexturl/items",
        "records": "data.items",
        "pagination": {"style": "next_url", "next_url_path": "next"},
    },
    "link_header": {"path": "/link/items", "pagination": {"style": "link_header"}},
    "offset": {
        "path": "/offset/items",
        "records": "data",
        "total": "total",
        "pagination": {"style": "offset", "page_size": 100},
    },
    "page": {
        "path": "/page/items",
        "records": "items",
        "pagination": {"style": "page", "page_size": 100},
    },
}


def settings_for(base_url: str, style: str) -> Any:
    return http_settings(base_url, streams={"contacts": {"read": STYLES[style]}})


@pytest.mark.parametrize("style", list(STYLES))
async def test_walks_every_record_once(
    style: str, api: ApiState, server_url: str, source_for: Any, budget: RecordingBudget
) -> None:
    """Each style reads all 250 records in three pages, none twice, spending one request each."""
    api.reset(contacts=250)
    source = await source_for(settings_for(server_url, style))
    pairs = await read_all(source, spec(cursor=None))
    assert ids(pairs) == ALL
    assert [len(batch) for batch, _ in pairs] == [100, 100, 50]
    assert len(api.requests) == 3
    assert budget.acquired == 3
    assert pairs[-1][1] == {"phase": "full", "page": None}


@pytest.mark.parametrize("style", list(STYLES))
async def test_failed_read_resumes_after_its_last_checkpoint(
    style: str, api: ApiState, server_url: str, source_for: Any
) -> None:
    """A read failing on page 3 resumes there from page 2's checkpoint: no page lost or repeated."""
    api.reset(contacts=250)
    source = await source_for(settings_for(server_url, style))
    stream = spec()
    read: list[str] = []
    committed: Checkpoint | None = None
    pages = 0

    async def arm_after_two() -> None:
        nonlocal committed, pages
        async for batch, mark in source.read(stream, committed):
            read.extend(ids([(batch, mark)]))
            committed, pages = mark, pages + 1
            if pages == 2:
                api.faults.append(Fault(STYLES[style]["path"], 503))

    with pytest.raises(TransientError, match="503"):
        await arm_after_two()
    assert committed is not None and committed["phase"] == "full"
    rest = await read_all(source, stream, committed)
    read.extend(ids(rest))
    assert read == ALL
    assert rest[-1][1]["phase"] == "incremental"


async def test_same_checkpoint_read_twice_gives_the_same_pages(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """Reading again from one mid-read checkpoint yields the same records and checkpoints."""
    api.reset(contacts=250)
    source = await source_for(settings_for(server_url, "cursor"))
    first = await read_all(source, spec())
    middle = first[0][1]
    again, once_more = (
        await read_all(source, spec(), middle),
        await read_all(source, spec(), middle),
    )
    assert [(b.rows, m) for b, m in again] == [(b.rows, m) for b, m in once_more]
    assert ids(again) == ALL[100:]


async def test_an_api_that_repeats_its_cursor_ends_the_read(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """A next cursor equal to the one just sent ends the read instead of looping forever."""
    api.reset(contacts=5)
    api.faults.append(
        Fault("/cursor/items", 200, {"results": [], "paging": {"next": {"after": "x"}}}, times=9)
    )
    source = await source_for(settings_for(server_url, "cursor"))
    checkpoint = {"phase": "full", "page": "x", "high": None, "started": "2024-01-01T00:00:00"}
    pairs = await read_all(source, spec(), checkpoint)
    assert len(pairs) == 1 and len(api.requests) == 1
