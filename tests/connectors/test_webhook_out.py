"""The webhook_out connector against a real receiver on loopback that verifies every request."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import re
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from standardwebhooks import Webhook

from syncwell.connectors import open_destination as open_any_destination
from syncwell.connectors.webhook_out import Settings, WebhookDestination, open_destination
from syncwell.connectors.webhook_out import open_source as open_webhook_source
from syncwell.connectors.webhook_out.addresses import RECHECK_S, AddressGuard, refusal
from syncwell.connectors.webhook_out.events import events_of, to_json
from syncwell.connectors.webhook_out.responses import retry_after
from syncwell.errors import (
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    TransientError,
)
from syncwell.testing import FakeClock
from syncwell.types import ChangeBatch, Op, StreamSpec
from syncwell.workspace.kinds import SETTINGS_BY_KIND
from tests.webhook_receiver import SECRET, Receiver

STREAM = StreamSpec(name="contacts", key=("id",), version="version")
COLUMNS = ("id", "email", "version")


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at the real wall time, so the receiver's 5-minute tolerance holds."""
    return FakeClock(wall_start=time.time())


def settings(url: str, **extra: object) -> Settings:
    """Valid settings for `url` (private networks allowed: tests run on loopback) and `extra`."""
    values: dict[str, object] = {
        "kind": "webhook_out",
        "url": url,
        "secret": SECRET,
        "allow_private_networks": True,
        **extra,
    }
    return Settings.model_validate(values)


@contextlib.asynccontextmanager
async def opened(
    receiver: Receiver, clock: FakeClock, **extra: object
) -> AsyncIterator[WebhookDestination]:
    """A destination sending to the receiver with these settings, closed afterwards."""
    destination = await open_destination("hooks", settings(receiver.url, **extra), clock=clock)
    try:
        yield destination
    finally:
        await destination.aclose()


@pytest.fixture
async def destination(receiver: Receiver, clock: FakeClock) -> AsyncIterator[WebhookDestination]:
    """A webhook_out destination sending to the receiver."""
    async with opened(receiver, clock, headers={"X-Tenant": "acme"}) as opened_destination:
        yield opened_destination


def batch(*rows: tuple[object, ...], ops: list[Op] | None = None) -> ChangeBatch:
    """A batch of contacts (id, email, version), seen by the source at a fixed time."""
    return ChangeBatch(COLUMNS, list(rows), ops, observed_at=1_700_000_000.25)


# --- what is sent ---------------------------------------------------------------------------------


async def test_each_change_is_one_signed_post_that_the_receiver_verifies(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """Three upserts make three verified POSTs with the documented body and distinct ids."""
    await destination.write(STREAM, batch((1, "a@x", 1), (2, "b@x", 1), (3, "c@x", 1)))
    assert receiver.refused == []
    assert sorted(r.payload["data"]["id"] for r in receiver.received) == [1, 2, 3]
    assert len({r.id for r in receiver.received}) == 3
    first = receiver.about(1)[0]
    assert first.payload == {
        "type": "contacts.upserted",
        "timestamp": "2023-11-14T22:13:20.250Z",
        "data": {"id": 1, "email": "a@x", "version": 1},
    }
    assert first.headers["content-type"] == "application/json"
    assert first.headers["x-tenant"] == "acme"
    assert first.signature.startswith("v1,")


async def test_deletes_are_sent_as_deleted_events(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """A delete goes out as `<stream>.deleted` with the record's values, an upsert as upserted."""
    await destination.write(STREAM, batch((1, None, 2), (2, "b@x", 2), ops=[Op.DELETE, Op.UPSERT]))
    assert receiver.about(1)[0].payload["type"] == "contacts.deleted"
    assert receiver.about(1)[0].payload["data"] == {"id": 1, "email": None, "version": 2}
    assert receiver.about(2)[0].payload["type"] == "contacts.upserted"


async def test_event_types_follow_the_configured_templates(
    receiver: Receiver, clock: FakeClock
) -> None:
    """upsert_type and delete_type name the events, with {stream} filled in."""
    templates = {"upsert_type": "crm.{stream}.changed", "delete_type": "crm.{stream}.gone"}
    async with opened(receiver, clock, **templates) as destination:
        await destination.write(STREAM, batch((1, "a", 1), (2, "b", 1), ops=[Op.UPSERT, Op.DELETE]))
    assert receiver.about(1)[0].payload["type"] == "crm.contacts.changed"
    assert receiver.about(2)[0].payload["type"] == "crm.contacts.gone"


async def test_a_key_twice_in_one_batch_sends_only_its_newest_change(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """Of two changes to one key in a batch, only the later is sent (no out-of-order race)."""
    await destination.write(STREAM, batch((1, "old", 1), (2, "b", 1), (1, "new", 2)))
    assert [r.payload["data"]["email"] for r in receiver.about(1)] == ["new"]
    assert len(receiver.received) == 2


def test_values_become_json_without_losing_digits() -> None:
    """Times, decimals, UUIDs, bytes and NaN become JSON values a receiver can read."""
    moment = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    ident = uuid.UUID(int=1)
    assert to_json(moment) == "2024-05-01T12:30:00+00:00"
    assert to_json(Decimal("12345678901234567890.01")) == "12345678901234567890.01"
    assert to_json(ident) == str(ident)
    assert to_json(b"\x00\xff") == "AP8="
    assert to_json(float("nan")) == "nan"
    assert to_json({"tags": ("a", dt.date(2024, 1, 2))}) == {"tags": ["a", "2024-01-02"]}


# --- ids and timestamps across attempts -----------------------------------------------------------


async def test_a_retried_change_keeps_its_id_and_gets_a_new_timestamp_and_signature(
    receiver: Receiver, destination: WebhookDestination, clock: FakeClock
) -> None:
    """After a 500, the same change goes again with the same id, a new timestamp and signature."""
    receiver.answer(1, 500)
    changes = batch((1, "a@x", 1), (2, "b@x", 1))
    with pytest.raises(TransientError):
        await destination.write(STREAM, changes)
    clock.advance(5)
    await destination.write(STREAM, changes)
    first, second = receiver.about(1)
    assert first.id == second.id
    assert second.timestamp - first.timestamp == 5
    assert first.signature != second.signature
    # The change that went through the first time is not sent again by the retry.
    assert len(receiver.about(2)) == 1


async def test_ids_are_derived_from_the_change_alone(
    receiver: Receiver, destination: WebhookDestination, clock: FakeClock
) -> None:
    """Another destination (a restart) gives the same change the same id; a new version differs."""
    await destination.write(STREAM, batch((1, "a@x", 1)))
    async with opened(receiver, clock) as restarted:
        await restarted.write(STREAM, batch((1, "a@x", 1)))
        await restarted.write(STREAM, batch((1, "a@x", 2)))
        await restarted.write(STREAM, batch((1, "a@x", 2), ops=[Op.DELETE]))
    ids = [r.id for r in receiver.about(1)]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3


# --- what each answer means -----------------------------------------------------------------------


async def test_429_is_rate_limited_with_retry_after_in_seconds_or_as_a_date(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """A 429 raises RateLimitedError carrying Retry-After, read from seconds or an HTTP date."""
    receiver.answer(1, 429, {"Retry-After": "7"})
    with pytest.raises(RateLimitedError) as caught:
        await destination.write(STREAM, batch((1, "a", 1)))
    assert caught.value.retry_after == 7.0
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    receiver.answer(1, 429, {"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(RateLimitedError) as caught:
        await destination.write(STREAM, batch((1, "a", 1)))
    assert caught.value.retry_after is not None and 100 < caught.value.retry_after <= 121


def test_retry_after_reads_seconds_dates_and_ignores_garbage() -> None:
    """Retry-After: seconds as given, a past date as 0, anything unreadable as no advice."""
    assert retry_after("30", now=0) == 30.0
    assert retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=0) == 60.0
    assert retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=1000) == 0.0
    for garbage in (None, "", "soon", "-5", "1.5e3", "٣"):
        assert retry_after(garbage, now=0) is None


async def test_5xx_and_408_are_transient(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """500, 502, 503 (with its Retry-After) and 408 raise TransientError, not a rejection."""
    for status, headers, wait in (
        (500, {}, None),
        (502, {}, None),
        (503, {"Retry-After": "3"}, 3.0),
        (408, {}, None),
    ):
        receiver.answer(1, status, headers)
        with pytest.raises(TransientError) as caught:
            await destination.write(STREAM, batch((1, "a", 1)))
        assert type(caught.value) is TransientError
        assert f"HTTP {status}" in str(caught.value)
        assert caught.value.retry_after == wait


async def test_other_4xx_rejects_that_change_only(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """A 400 raises RecordRejectedError with the key and the receiver's reason; others arrive."""
    receiver.answer(2, 400)
    with pytest.raises(RecordRejectedError) as caught:
        await destination.write(STREAM, batch((1, "a", 1), (2, "b", 1), (3, "c", 1)))
    assert caught.value.key == "2"
    assert caught.value.reason == "HTTP 400: scripted 400 for 2"
    assert {r.payload["data"]["id"] for r in receiver.received} == {1, 2, 3}


async def test_a_transient_failure_outranks_a_rejection_in_the_same_write(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """With a 400 and a 500 in one write, the write is retried (transient) before any split."""
    receiver.answer(1, 400)
    receiver.answer(2, 500)
    with pytest.raises(TransientError):
        await destination.write(STREAM, batch((1, "a", 1), (2, "b", 1)))


async def test_401_and_403_are_fatal_not_a_rejected_record(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """A receiver refusing our credentials fails the integration instead of dead-lettering."""
    for status in (401, 403):
        receiver.answer(1, status)
        with pytest.raises(IntegrationFatalError, match=f"HTTP {status}"):
            await destination.write(STREAM, batch((1, "a", 1)))


async def test_a_redirect_is_not_followed(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """A 307 raises IntegrationFatalError naming the Location, and nothing is sent there."""
    receiver.answer(1, 307, {"Location": "http://169.254.169.254/latest"})
    with pytest.raises(IntegrationFatalError, match=re.escape("169.254.169.254/latest")):
        await destination.write(STREAM, batch((1, "a", 1)))
    assert len(receiver.received) == 1


async def test_410_disables_the_destination_until_restart(
    receiver: Receiver, destination: WebhookDestination
) -> None:
    """After a 410 Gone every write raises IntegrationFatalError and nothing more is sent."""
    receiver.answer(1, 410)
    with pytest.raises(IntegrationFatalError, match="HTTP 410"):
        await destination.write(STREAM, batch((1, "a", 1)))
    sent = len(receiver.received)
    for _ in range(2):
        with pytest.raises(IntegrationFatalError, match="not to be sent webhooks"):
            await destination.write(STREAM, batch((2, "b", 1), (3, "c", 1)))
    assert len(receiver.received) == sent == 1


async def test_a_timeout_is_transient(receiver: Receiver, clock: FakeClock) -> None:
    """A receiver slower than timeout_s makes the write fail transiently."""
    receiver.delay_s = 1.0
    async with opened(receiver, clock, timeout_s=0.2) as destination:
        with pytest.raises(TransientError, match=re.escape("no answer within 0.2 s")):
            await destination.write(STREAM, batch((1, "a", 1)))


async def test_a_refused_connection_is_transient(clock: FakeClock) -> None:
    """Nobody listening on the port makes the write fail transiently."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    destination = await open_destination(
        "hooks", settings(f"http://127.0.0.1:{port}/hook"), clock=clock
    )
    try:
        with pytest.raises(TransientError, match="ConnectError"):
            await destination.write(STREAM, batch((1, "a", 1)))
    finally:
        await destination.aclose()


# --- pacing ---------------------------------------------------------------------------------------


@dataclass
class CountingBudget:
    """A request budget that lets everything through and counts what was taken."""

    taken: int = 0

    async def acquire(self, cost: int = 1) -> None:
        self.taken += cost

    def pause_for(self, seconds: float) -> None:
        raise AssertionError("the engine pauses on Retry-After, not the connector")

    def learn(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("not expected")


async def test_the_budget_is_spent_once_per_request(receiver: Receiver, clock: FakeClock) -> None:
    """With a budget, one request is taken from it for every change sent."""
    budget = CountingBudget()
    destination = await open_destination(
        "hooks", settings(receiver.url), budget=budget, clock=clock
    )
    try:
        assert destination.paces_itself is True
        await destination.write(STREAM, batch(*[(i, "x", 1) for i in range(5)]))
    finally:
        await destination.aclose()
    assert budget.taken == 5 == len(receiver.received)


async def test_requests_in_flight_stay_within_max_in_flight(
    receiver: Receiver, clock: FakeClock
) -> None:
    """Twenty changes with max_in_flight 3 are sent concurrently, never more than 3 at once."""
    receiver.delay_s = 0.05
    async with opened(receiver, clock, max_in_flight=3) as destination:
        await destination.write(STREAM, batch(*[(i, "x", 1) for i in range(20)]))
    assert len(receiver.received) == 20
    assert receiver.most_in_flight == 3


# --- private networks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "resolves to 127.0.0.1, a loopback address"),
        ("10.0.0.1", "resolves to 10.0.0.1, a private address"),
        ("169.254.169.254", "resolves to 169.254.169.254, a link-local address"),
        ("[::1]", "resolves to ::1, a loopback address"),
        ("localhost", "a loopback address"),
    ],
)
async def test_private_addresses_are_refused_unless_allowed(
    host: str, expected: str, clock: FakeClock
) -> None:
    """Opening a URL that resolves to a non-public address fails, saying which and how to allow."""
    allowed = await open_destination("hooks", settings(f"http://{host}:9/hook"), clock=clock)
    await allowed.aclose()
    refused = settings(f"http://{host}:9/hook", allow_private_networks=False)
    with pytest.raises(IntegrationFatalError) as caught:
        await open_destination("hooks", refused, clock=clock)
    message = str(caught.value)
    assert expected in message
    assert "allow_private_networks: true on system hooks" in message


async def test_a_public_address_passes_and_is_checked_again_after_a_while(
    clock: FakeClock,
) -> None:
    """A public answer is trusted for RECHECK_S; after that a now-private answer is refused."""
    guard = AddressGuard("hooks", "https://8.8.8.8/hook", allowed=False, clock=clock)
    await guard.check()
    # As if the name's DNS answer changed to a private address (DNS rebinding).
    guard._host = "10.0.0.1"
    await guard.check()  # the public answer still stands
    clock.advance(RECHECK_S)
    with pytest.raises(IntegrationFatalError, match=re.escape("10.0.0.1, a private address")):
        await guard.check()


async def test_a_host_that_does_not_resolve_opens_and_then_fails_transiently(
    clock: FakeClock,
) -> None:
    """An unresolvable host does not stop opening; each write then fails transiently."""
    unresolvable = settings("https://does-not-exist.invalid/hook", allow_private_networks=False)
    destination = await open_destination("hooks", unresolvable, clock=clock)
    try:
        with pytest.raises(
            TransientError, match=re.escape("cannot resolve does-not-exist.invalid")
        ):
            await destination.write(STREAM, batch((1, "a", 1)))
    finally:
        await destination.aclose()


def test_refusal_names_every_non_public_range() -> None:
    """Each kind of non-public address is refused with its name; public ones pass."""
    cases = {
        "0.0.0.0": "unspecified",
        "127.0.0.2": "loopback",
        "::ffff:127.0.0.1": "loopback",
        "169.254.169.254": "link-local",
        "fe80::1": "link-local",
        "224.0.0.1": "multicast",
        "192.168.1.1": "private",
        "fd00::1": "private",
        "240.0.0.1": "private",
        "100.64.0.1": "non-public",
        "8.8.8.8": None,
        "2606:4700:4700::1111": None,
    }
    for text, reason in cases.items():
        assert refusal(ipaddress.ip_address(text)) == reason, text


# --- settings and registration --------------------------------------------------------------------


DOCS = Path(__file__).parents[2] / "docs" / "connectors" / "webhook_out.md"


def test_the_documented_settings_load_and_the_kind_is_registered() -> None:
    """The docs' YAML example validates through the workspace's table of kinds."""
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    example = example.replace("${PARTNER_WEBHOOK_SECRET}", SECRET)
    system = yaml.safe_load(example)["systems"]["partner"]
    loaded = SETTINGS_BY_KIND[system["kind"]].model_validate(system)
    assert isinstance(loaded, Settings)
    assert loaded.headers["X-Tenant"].get_secret_value() == "acme"
    assert "whsec" not in repr(loaded)  # the secret never shows


def test_the_documented_request_is_what_the_connector_sends() -> None:
    """The docs' example request is this connector's body, id and a valid signature of them."""
    block = DOCS.read_text(encoding="utf-8").split("```http\n", 1)[1].split("```", 1)[0]
    head, body = block.strip().split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    spec = StreamSpec(name="contacts", key=("id",), version="updated_at")
    change = ChangeBatch(
        ("id", "email", "updated_at"),
        [(42, "ada@example.com", "2024-05-01T12:30:00+00:00")],
        observed_at=1714566600.5,
    )
    (event,) = events_of(
        spec, change, upsert_type="{stream}.upserted", delete_type="{stream}.deleted"
    )
    assert (headers["webhook-id"], body) == (event.id, event.body)
    signed_at = dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), dt.UTC)
    signature = Webhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").sign(event.id, signed_at, body)
    assert headers["webhook-signature"] == signature


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"secret": "not-a-whsec"}, "python -c"),
        ({"secret": "whsec_" + base64.b64encode(b"short").decode()}, "24 to 64 bytes"),
        ({"url": "ftp://example.com/x"}, "must start with https://"),
        ({"url": "https://user:pw@example.com/x"}, "credentials"),
        ({"headers": {"webhook-id": "x"}}, "set by the connector"),
        ({"headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "line breaks"),
        ({"upsert_type": "{table}.upserted"}, "only use the placeholder {stream}"),
        ({"delete_type": "{stream.deleted"}, "write {{ and }} for braces"),
        ({"max_in_flight": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(change: dict[str, object], message: str) -> None:
    """Each bad setting fails validation with a message that says what to write instead."""
    values = {"url": "https://hooks.example.com/x", **change}
    with pytest.raises(ValidationError, match=re.escape(message)):
        settings(**values)


async def test_the_connectors_table_opens_it_and_it_is_no_source(
    receiver: Receiver, clock: FakeClock
) -> None:
    """open_destination by settings type finds the kind; opening it as a source is refused."""
    destination = await open_any_destination("hooks", settings(receiver.url))
    try:
        assert isinstance(destination, WebhookDestination)
    finally:
        await destination.aclose()
    with pytest.raises(IntegrationFatalError, match="only sends"):
        await open_webhook_source("hooks", settings(receiver.url))


def test_the_body_is_ascii_json() -> None:
    """Bodies are ASCII JSON, so any text (even a lone surrogate) signs and sends."""
    (event,) = events_of(
        STREAM,
        batch((1, "é\ud800", 1)),
        upsert_type="{stream}.upserted",
        delete_type="{stream}.deleted",
    )
    assert event.body.isascii()
    assert json.loads(event.body)["data"]["email"] == "é\ud800"
