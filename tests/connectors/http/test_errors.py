"""The error mapping table: statuses, bodies and failures to the class the engine acts on."""

from __future__ import annotations

import email.utils
import socket
import time
from typing import Any

import pytest

from syncwell.connectors.http import open_source
from syncwell.errors import (
    ConnectorError,
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    ServerError,
    TimedOutError,
    TransientError,
)
from syncwell.types import ChangeBatch, Op, StreamSpec
from tests.connectors.http.api import ApiState, Fault
from tests.connectors.http.conftest import RecordingBudget, http_settings, read_all, spec

READ = {"path": "/cursor/items", "records": "results"}
THINGS = {"create": {"path": "/things"}, "update": {"path": "/things/{id}"}}
ONE = ChangeBatch(("id", "email"), [("t1", "a@x.org")])


def settings_for(base_url: str, **extra: Any) -> Any:
    streams = {"contacts": {"read": READ, "write": THINGS}}
    return http_settings(base_url, streams=streams, **extra)


READ_CASES = {
    "500": (Fault("/cursor", 500, "boom"), ServerError, "GET /cursor/items answered 500"),
    "503 retry-after": (Fault("/cursor", 503, {}, {"Retry-After": "7"}), TransientError, "503"),
    "408": (Fault("/cursor", 408), TransientError, "408"),
    "429": (Fault("/cursor", 429, {}, {"Retry-After": "3"}), RateLimitedError, "429"),
    "401": (Fault("/cursor", 401, {"message": "bad token"}), IntegrationFatalError, "bad token"),
    "403": (Fault("/cursor", 403), IntegrationFatalError, "permission"),
    "404": (Fault("/cursor", 404), IntegrationFatalError, "check base_url and the stream's read"),
    "410": (Fault("/cursor", 410), IntegrationFatalError, "current version"),
    "422": (Fault("/cursor", 422), IntegrationFatalError, "incremental settings"),
    "302": (Fault("/cursor", 302, {}, {"Location": "/v2"}), IntegrationFatalError, "redirects"),
    "not json": (Fault("/cursor", 200, "<html>"), IntegrationFatalError, "without JSON"),
    "no records": (Fault("/cursor", 200, {"data": []}), IntegrationFatalError, "holds: data"),
}


@pytest.mark.parametrize("case", list(READ_CASES))
async def test_read_answers_map_to_classes(
    case: str, api: ApiState, server_url: str, source_for: Any
) -> None:
    """Each answer to a read raises the class of the table, with a message that says why."""
    fault, expected, text = READ_CASES[case]
    api.faults.append(fault)
    source = await source_for(settings_for(server_url))
    with pytest.raises(ConnectorError) as caught:
        await read_all(source, spec())
    assert type(caught.value) is expected
    assert text in str(caught.value) and caught.value.system == "crm"


async def test_retry_after_seconds_and_date(
    api: ApiState, server_url: str, source_for: Any, budget: RecordingBudget
) -> None:
    """Retry-After in seconds or as an HTTP date becomes retry_after and pauses the budget."""
    source = await source_for(settings_for(server_url))
    api.faults.append(Fault("/cursor", 429, {}, {"Retry-After": "3"}))
    with pytest.raises(RateLimitedError) as seconds:
        await read_all(source, spec())
    date = email.utils.formatdate(time.time() + 120, usegmt=True)
    api.faults.append(Fault("/cursor", 429, {}, {"Retry-After": date}))
    with pytest.raises(RateLimitedError) as dated:
        await read_all(source, spec())
    assert seconds.value.retry_after == 3.0
    assert dated.value.retry_after is not None and 115 <= dated.value.retry_after <= 121
    assert budget.pauses[0] == 3.0 and 115 <= budget.pauses[1] <= 121


async def test_write_answers_map_to_classes(
    api: ApiState, server_url: str, destination_for: Any
) -> None:
    """On writes: 400 refuses the record by key, 5xx is transient, 404 names the path to fix."""
    destination = await destination_for(settings_for(server_url))
    stream = StreamSpec(name="contacts", key=("id",))
    api.faults.append(Fault("/things", 400, {"error": {"message": "bad field"}}))
    with pytest.raises(RecordRejectedError) as refused:
        await destination.write(stream, ONE)
    assert refused.value.key == "t1" and refused.value.reason == "bad field"
    api.faults.append(Fault("/things", 502))
    with pytest.raises(TransientError):
        await destination.write(stream, ONE)
    api.faults.append(Fault("/things", 404))
    with pytest.raises(IntegrationFatalError, match="write path"):
        await destination.write(stream, ONE)


async def test_custom_rules_come_first(
    api: ApiState, server_url: str, destination_for: Any, source_for: Any
) -> None:
    """Configured rules classify by status and body before the defaults (first match wins)."""
    rules = [
        {"status": 409, "body_contains": "duplicate", "class": "ignore"},
        {"status": 200, "body_path": "ok", "equals": False, "class": "transient"},
        {"status": "4xx", "body_path": "error.code", "equals": "QUOTA", "class": "rate_limited"},
        {"status": 400, "class": "fatal"},
    ]
    settings = settings_for(server_url, errors=rules)
    destination = await destination_for(settings)
    source = await source_for(settings)
    stream = StreamSpec(name="contacts", key=("id",))
    api.faults.append(Fault("/things", 409, "duplicate key"))
    await destination.write(stream, ONE)  # ignored: counts as written
    api.faults.append(Fault("/cursor", 200, {"ok": False, "results": []}))
    with pytest.raises(TransientError):
        await read_all(source, spec())
    api.faults.append(Fault("/things", 403, {"error": {"code": "QUOTA"}}))
    with pytest.raises(RateLimitedError):
        await destination.write(stream, ONE)
    api.faults.append(Fault("/things", 400, {}))
    with pytest.raises(IntegrationFatalError):
        await destination.write(stream, ONE)


@pytest.mark.parametrize("status", [404, 410])
async def test_delete_of_a_missing_record_is_done(
    api: ApiState, server_url: str, destination_for: Any, status: int
) -> None:
    """A 404 or a 410 on a delete means already gone: success, not an error."""
    write = {"delete": {"path": "/things/{id}"}}
    destination = await destination_for(
        http_settings(server_url, streams={"contacts": {"write": write}})
    )
    if status == 410:
        api.faults.append(Fault("/things", 410, {"message": "gone"}, method="DELETE"))
    batch = ChangeBatch(("id",), [("nobody",)], [Op.DELETE])
    await destination.write(StreamSpec(name="contacts", key=("id",)), batch)
    assert api.seen("/things")[0].method == "DELETE"


async def test_connection_refused_and_timeout_are_transient(api: ApiState, server_url: str) -> None:
    """No listener, or no answer within timeout_s: both transient, both saying what failed;
    the second is a timeout, which the engine counts apart."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    nobody = await open_source("crm", settings_for(f"http://127.0.0.1:{closed}"))
    slow = await open_source(
        "crm",
        http_settings(server_url, timeout_s=0.2, streams={"contacts": {"read": {"path": "/slow"}}}),
    )
    try:
        with pytest.raises(TransientError, match="GET /cursor/items failed"):
            await read_all(nobody, spec())
        with pytest.raises(TimedOutError, match=r"no answer within 0\.2s"):
            await read_all(slow, spec())
    finally:
        await nobody.aclose()
        await slow.aclose()


async def test_unknown_stream_is_fatal_with_the_fix(server_url: str, source_for: Any) -> None:
    """Reading a stream the system does not configure names the streams it does."""
    source = await source_for(settings_for(server_url))
    with pytest.raises(IntegrationFatalError, match=r"readable streams: contacts"):
        await read_all(source, spec("deals"))


@pytest.mark.parametrize("held", [False, True], ids=["gone", "still-there"])
async def test_a_delete_that_fails_is_done_when_the_record_url_says_gone(
    api: ApiState, server_url: str, destination_for: Any, held: bool
) -> None:
    """A delete answered 500 is followed by a GET of the record's own URL: a 404 there means
    the record is already gone and the delete is done; a record still there keeps the 500 a
    transient error, to retry. A 429 is not followed by a GET."""
    write = {"delete": {"path": "/things/{id}"}}
    destination = await destination_for(
        http_settings(server_url, streams={"contacts": {"write": write}})
    )
    if held:
        api.things["k1"] = {"id": "k1"}
    api.faults.append(Fault("/things", 500, {"message": "boom"}, method="DELETE"))
    batch = ChangeBatch(("id",), [("k1",)], [Op.DELETE])
    spec = StreamSpec(name="contacts", key=("id",))
    if held:
        with pytest.raises(TransientError, match="500"):
            await destination.write(spec, batch)
    else:
        await destination.write(spec, batch)
    assert [(r.method, r.path) for r in api.seen("/things")] == [
        ("DELETE", "/things/k1"),
        ("GET", "/things/k1"),
    ]
    api.requests.clear()
    api.faults.append(Fault("/things", 429, {}, {"Retry-After": "1"}, method="DELETE"))
    with pytest.raises(RateLimitedError):
        await destination.write(spec, batch)
    assert [r.method for r in api.seen("/things")] == ["DELETE"]
