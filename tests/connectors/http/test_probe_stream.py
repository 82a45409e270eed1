"""The probe's live checks of one http stream: first page, key, cursor, fields, filter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncwell.connectors.http.probe import probe_stream
from syncwell.testing import FakeClock
from tests.connectors.http.api import ApiState, Fault
from tests.connectors.http.conftest import http_settings, spec
from tests.connectors.http.filter_api import serving

READ = {
    "path": "/op/items",
    "records": "results",
    "incremental": {"params": {"modified": ">={since}"}},
}


@pytest.fixture(scope="module")
def filter_url() -> Iterator[str]:
    with serving() as url:
        yield url


def _found(findings: list[Any]) -> dict[str, str]:
    return {finding.check: finding.status for finding in findings}


async def test_a_sound_stream_passes_after_a_429_is_waited_out(
    api: ApiState, filter_url: str, source_for: Any, clock: FakeClock
) -> None:
    """A rate limit met on the way is waited out (Retry-After), not reported as a finding."""
    api.reset(contacts=20)
    api.faults.append(Fault("/op/items", 429, {"message": "slow down"}, {"Retry-After": "7"}))
    source = await source_for(http_settings(filter_url, streams={"contacts": {"read": READ}}))
    started = clock.now()
    findings = await probe_stream(source, spec(columns=("id", "updatedAt")), None, clock)
    assert _found(findings) == {
        "read": "ok",
        "key": "ok",
        "cursor": "ok",
        "fields": "ok",
        "filter": "ok",
    }
    assert clock.now() - started >= 7


async def test_missing_fields_and_a_bad_key_are_named_with_what_the_records_hold(
    api: ApiState, filter_url: str, source_for: Any, clock: FakeClock
) -> None:
    """A key no record has fails; a field no record has warns; both list the fields seen."""
    api.reset(contacts=3)
    source = await source_for(http_settings(filter_url, streams={"contacts": {"read": READ}}))
    stream = spec(key=("uuid",), columns=("id", "properties.phone"))
    findings = {f.check: f for f in await probe_stream(source, stream, None, clock)}
    assert findings["key"].status == "fail" and "3 of 3 record(s)" in findings["key"].found
    assert "they hold: id, properties, updatedAt" in findings["key"].fix
    assert findings["fields"].status == "warn" and "properties.phone" in findings["fields"].found


async def test_refused_credentials_fail_the_read_with_the_fix(
    api: ApiState, filter_url: str, source_for: Any, clock: FakeClock
) -> None:
    """A 401 ends the probe of the stream at its first request, saying to check auth."""
    api.reset(contacts=3)
    api.faults.append(Fault("/op/items", 401, {"message": "bad token"}, times=5))
    source = await source_for(http_settings(filter_url, streams={"contacts": {"read": READ}}))
    findings = await probe_stream(source, spec(), None, clock)
    assert [(f.check, f.status) for f in findings] == [("read", "fail")]
    assert "401" in findings[0].found and "credentials" in findings[0].found
