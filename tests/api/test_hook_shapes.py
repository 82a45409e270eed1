"""Events shaped as real senders send them, through a running engine on loopback: many rows
in one event, thin events with ids only, routing by a table field, handshakes, and the auth
kinds that need the URL (a secret in the path, a GET challenge)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import time
from pathlib import Path

from tests.api.shapekit import rows, running_shapes, state, write_crm
from tests.waiting import until

UNSIGNED = "auth: {kind: none, unsigned: true}\n"
BULK = (
    UNSIGNED
    + """
event_type: type
records: data.rows
ids: data.ids
streams: {"contact.*": contacts, "company.*": companies}
deletes: ["*.deleted", "*.bulk_deleted"]
"""
)


def _body(event_id: str, kind: str, **data: object) -> bytes:
    return json.dumps({"id": event_id, "type": kind, "data": data}).encode()


def _contact(n: int, version: int = 1) -> dict[str, object]:
    return {
        "email": f"p{n}@example.com",
        "name": f"v{version}",
        "updated_at": f"2026-01-0{version}",
    }


async def test_every_row_of_a_bulk_event_is_applied_deletes_included(tmp_path: Path) -> None:
    """A bulk update of 4 rows changes 4 records; a bulk delete of 3 rows deletes all 3."""
    async with running_shapes(tmp_path, BULK) as run:
        upserted = await run.post(
            _body("e1", "contact.bulk_updated", rows=[_contact(n) for n in range(4)])
        )
        assert upserted.status_code == 200, upserted.text
        assert upserted.json()["changes"] == 4
        await until(lambda: len(rows(tmp_path)) == 4, within_s=10)
        gone = [{"email": f"p{n}@example.com"} for n in range(3)]
        deleted = await run.post(_body("e2", "contact.bulk_deleted", rows=gone))
        assert deleted.json()["changes"] == 3
        await until(lambda: set(rows(tmp_path)) == {"p3@example.com"}, within_s=10)


async def test_a_thin_delete_event_deletes_every_key_it_names(tmp_path: Path) -> None:
    """`ids` with a delete type: the deletes are journaled at once, nothing is fetched."""
    async with running_shapes(tmp_path, BULK) as run:
        await run.post(_body("e1", "contact.created", rows=[_contact(n) for n in range(3)]))
        await until(lambda: len(rows(tmp_path)) == 3, within_s=10)
        answer = await run.post(
            _body("e2", "contact.deleted", ids=["p0@example.com", "p2@example.com"])
        )
        assert answer.json() == {"status": "accepted", "id": "e2", "changes": 2}
        await until(lambda: set(rows(tmp_path)) == {"p1@example.com"}, within_s=10)


async def test_a_thin_upsert_is_read_from_the_source_at_once(tmp_path: Path) -> None:
    """An event with ids only: answered at once, and the record arrives long before the 1 h
    interval, read from the CRM; the re-read is then settled (nothing waits in the store)."""
    async with running_shapes(tmp_path, BULK) as run:
        write_crm(tmp_path, "thin@example.com", "from the CRM", "2026-02-01")
        answer = await run.post(_body("e1", "contact.updated", ids=["thin@example.com"]))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "accepted", "id": "e1", "changes": 0, "rereads": 1}
        await until(lambda: "thin@example.com" in rows(tmp_path), within_s=10)
        assert rows(tmp_path)["thin@example.com"][0] == "from the CRM"
        await until(
            lambda: state(tmp_path, "SELECT count(*) FROM webhook_rereads") == [(0,)], within_s=10
        )
        again = await run.post(_body("e1", "contact.updated", ids=["thin@example.com"]))
        assert again.json()["status"] == "duplicate"


async def test_a_bulk_event_without_rows_reads_what_changed(tmp_path: Path) -> None:
    """A bulk insert that carries neither rows nor ids is not refused: the flow reads again."""
    async with running_shapes(tmp_path, BULK) as run:
        for n in range(3):
            write_crm(tmp_path, f"bulk{n}@example.com", "inserted", "2026-03-01")
        answer = await run.post(_body("e1", "contact.bulk_created", count=3))
        assert answer.json()["rereads"] == 1
        await until(lambda: len(rows(tmp_path)) == 3, within_s=10)


async def test_a_thin_event_survives_a_stop_before_its_read(tmp_path: Path) -> None:
    """Crash window: the 2xx is given, then the read fails (the CRM's table is gone) and the
    engine stops. The re-read waits in the store; the next run's read brings the record."""
    async with running_shapes(tmp_path, BULK) as run:
        write_crm(tmp_path, "late@example.com", "kept", "2026-04-01")
        with sqlite3.connect(tmp_path / "crm.db") as db:
            db.execute("ALTER TABLE contacts RENAME TO contacts_away")
        answer = await run.post(_body("e1", "contact.updated", ids=["late@example.com"]))
        assert answer.status_code == 200
        await until(lambda: run.engine.progress["contacts"].last_error is not None, within_s=10)
    assert state(tmp_path, "SELECT flow, key, event_id FROM webhook_rereads") == [
        ("contacts", "late@example.com", "e1")
    ]
    assert "late@example.com" not in rows(tmp_path)
    with sqlite3.connect(tmp_path / "crm.db") as db:
        db.execute("ALTER TABLE contacts_away RENAME TO contacts")
    async with running_shapes(tmp_path, BULK):
        await until(lambda: "late@example.com" in rows(tmp_path), within_s=10)
        await until(
            lambda: state(tmp_path, "SELECT count(*) FROM webhook_rereads") == [(0,)], within_s=10
        )


TYPE_ROUTED = (
    UNSIGNED
    + """
records: data.rows
streams: {"records.*": contacts}
"""
)
TABLE_ROUTED = (
    UNSIGNED
    + """
records: data.rows
route_by: data.table_name
streams: {Contacts: contacts, Companies: companies}
"""
)


async def test_an_event_for_another_table_goes_only_where_its_table_is_configured(
    tmp_path: Path,
) -> None:
    """The bug first: a tool whose event types don't name the table (`records.after.update`)
    routed by type lands an `Orders` row in contacts. Routed by `data.table_name`, that event
    is refused with a 422 that names the table, and nothing of it is journaled; the
    configured tables go to their own streams."""
    orders = _body("o1", "records.after.update", table_name="Orders", rows=[_contact(9)])
    async with running_shapes(tmp_path / "by_type", TYPE_ROUTED) as run:
        assert (await run.post(orders)).status_code == 200
        await until(lambda: "p9@example.com" in rows(tmp_path / "by_type"), within_s=10)
    async with running_shapes(tmp_path / "by_table", TABLE_ROUTED) as run:
        refused = await run.post(orders)
        assert refused.status_code == 422
        assert "Orders" in refused.json()["error"] and "streams" in refused.json()["error"]
        company = {"domain": "acme.example", "name": "Acme", "updated_at": "2026-01-01"}
        taken = await run.post(
            _body("c1", "records.after.insert", table_name="Companies", rows=[company])
        )
        assert taken.status_code == 200
        await until(lambda: "acme.example" in rows(tmp_path / "by_table", "companies"), within_s=10)
        await asyncio.sleep(0.3)
    assert rows(tmp_path / "by_table") == {}
    assert state(tmp_path / "by_table", "SELECT event_id FROM webhook_events") == [("c1",)]


PATH_SECRET = "path-secret-0123456789abcdef"


async def test_a_secret_in_the_path(tmp_path: Path) -> None:
    """/hooks/crm/<secret> is taken; a wrong or missing secret is a 401 that never repeats it."""
    webhooks = f"auth: {{kind: path, secret: {PATH_SECRET}}}\nstreams: {{'contact.*': contacts}}"
    body = json.dumps({"id": "e1", "type": "contact.created", "data": _contact(1)}).encode()
    async with running_shapes(tmp_path, webhooks) as run:
        wrong = await run.post(body, path="/hooks/crm/guessed-0123456789abcdef")
        assert wrong.status_code == 401 and "guessed" not in wrong.text
        assert (await run.post(body)).status_code == 401
        assert (await run.post(body, path=f"/hooks/crm/{PATH_SECRET}")).status_code == 200
        await until(lambda: "p1@example.com" in rows(tmp_path), within_s=10)


async def test_handshakes_are_answered_and_take_nothing(tmp_path: Path) -> None:
    """Asana's X-Hook-Secret is echoed; a GET hub.challenge is answered once the verify token
    matches; Trello's HEAD gets a 200. None of them journals anything."""
    echo = UNSIGNED + "streams: {'*': contacts}\nhandshake: {kind: echo_header}"
    async with running_shapes(tmp_path / "echo", echo) as run:
        answer = await run.post(b"", {"X-Hook-Secret": "hs-123"})
        assert answer.status_code == 200 and answer.headers["X-Hook-Secret"] == "hs-123"
        assert (await run.client.head("/hooks/crm")).status_code == 200
    query = UNSIGNED + "streams: {'*': contacts}\nhandshake: {kind: query, token: vt-1}"
    async with running_shapes(tmp_path / "query", query) as run:
        params = {"hub.mode": "subscribe", "hub.challenge": "ch-42", "hub.verify_token": "vt-1"}
        answer = await run.client.get("/hooks/crm", params=params)
        assert answer.status_code == 200 and answer.text == "ch-42"
        assert answer.headers["x-content-type-options"] == "nosniff"
        wrong = await run.client.get("/hooks/crm", params={**params, "hub.verify_token": "no"})
        assert wrong.status_code == 403
    for root in ("echo", "query"):
        assert state(tmp_path / root, "SELECT count(*) FROM webhook_events") == [(0,)]


async def test_slacks_url_verification_is_answered_once_signed(tmp_path: Path) -> None:
    """Slack signs its url_verification too: signed, the challenge comes back as plain text;
    forged, it is a 401 like any event. Nothing is journaled either way."""
    webhooks = (
        "auth: {kind: slack, secret: slack-signing-secret}\n"
        "streams: {'*': contacts}\nhandshake: {kind: challenge}"
    )
    body = json.dumps({"token": "t", "challenge": "3eZbrw1aBm2r", "type": "url_verification"})

    def signed(secret: str) -> dict[str, str]:
        stamp = str(int(time.time()))
        base = f"v0:{stamp}:{body}".encode()
        digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": stamp}

    async with running_shapes(tmp_path, webhooks) as run:
        answer = await run.post(body.encode(), signed("slack-signing-secret"))
        assert answer.status_code == 200 and answer.text == "3eZbrw1aBm2r"
        forged = await run.post(body.encode(), signed("not-the-secret"))
        assert forged.status_code == 401
    assert state(tmp_path, "SELECT count(*) FROM webhook_events") == [(0,)]


HUBSPOT_URL = "https://sync.example.com/hooks/crm"
HUBSPOT = f"""
auth: {{kind: hubspot_v3, secret: client-secret, url: "{HUBSPOT_URL}"}}
event_id: eventId
event_type: subscriptionType
ids: email
streams: {{"contact.*": contacts}}
deletes: ["*.deletion"]
"""


def _hubspot(body: bytes, secret: str = "client-secret") -> dict[str, str]:
    # developers.hubspot.com, v3: base64 HMAC-SHA256 of method + URI + body + timestamp (ms).
    stamp = str(int(time.time() * 1000))
    message = b"POST" + HUBSPOT_URL.encode() + body + stamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": stamp,
    }


async def test_a_batch_of_thin_events_as_hubspot_sends_them(tmp_path: Path) -> None:
    """HubSpot posts an array of events, each with its own id and only the object's key:
    each is deduplicated on its own, deletes go at once, the rest is read from the CRM; one
    unreadable item is refused alone, by index, and the others are kept (HubSpot does not
    retry a 4xx: refusing the whole array would lose them)."""
    events = [
        {"eventId": 1, "subscriptionType": "contact.creation", "email": "hs1@example.com"},
        {"eventId": 2, "subscriptionType": "contact.deletion", "email": "p0@example.com"},
        {"eventId": 3, "subscriptionType": "company.creation", "email": "x"},
    ]
    async with running_shapes(tmp_path, HUBSPOT) as run:
        write_crm(tmp_path, "hs1@example.com", "from HubSpot", "2026-05-01")
        only_bad = json.dumps([{"eventId": 4, "subscriptionType": "contact.creation"}])
        refused = await run.post(only_bad.encode(), _hubspot(only_bad.encode()))
        assert refused.status_code == 400 and "event [0]" in refused.text
        assert state(tmp_path, "SELECT count(*) FROM webhook_events") == [(0,)]
        body = json.dumps([*events, {"eventId": 4, "subscriptionType": "contact.creation"}])
        answer = await run.post(body.encode(), _hubspot(body.encode()))
        summary = answer.json()
        assert answer.status_code == 200 and summary["changes"] == 1, summary
        assert [item["index"] for item in summary["refused"]] == [3]
        assert "email" in summary["refused"][0]["reason"]
        await until(lambda: "hs1@example.com" in rows(tmp_path), within_s=10)
        again = await run.post(body.encode(), _hubspot(body.encode()))
        assert again.status_code == 200, "a retry of the same batch: taken once (ids below)"
        forged = await run.post(body.encode(), _hubspot(body.encode(), "guess"))
        assert forged.status_code == 401
    assert state(tmp_path, "SELECT event_id FROM webhook_events ORDER BY event_id") == [
        ("1",),
        ("2",),
    ]


async def test_an_event_nobody_reads_is_acknowledged_even_without_an_id(tmp_path: Path) -> None:
    """A sender's own notice (Slack's app_rate_limited) carries no id and no stream anyone
    reads: 202 ignored, not a 400 for the missing id; an event somebody reads still needs one."""
    async with running_shapes(tmp_path, BULK) as run:
        notice = await run.post(json.dumps({"type": "app_rate_limited"}).encode())
        assert notice.status_code == 202 and notice.json()["status"] == "ignored"
        no_id = {"type": "contact.updated", "data": _contact(1)}
        assert (await run.post(json.dumps(no_id).encode())).status_code == 400
