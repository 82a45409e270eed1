"""POST /hooks/{system}: a version no order can be read from, or of another kind than the
flow's versions, is refused with a 400 that names the field, the value and the kind expected.

Real HTTP against a running engine (tests/api/hookkit.py): the flow `contacts` reads the
CRM's webhooks, its version is `updated_at`.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.api.hookkit import Running, core_rows, event, running_engine, signed

_TIME = "2026-01-01T00:00:10+00:00"


def _body(event_id: str, email: str, version: object) -> bytes:
    record = {"email": email, "name": "x", "stage": "lead", "updated_at": version}
    return json.dumps({"id": event_id, "type": "contact.updated", "data": record}).encode()


def _journaled(root: Path) -> int:
    with sqlite3.connect(root / ".syncwell" / "state.db") as db:
        return int(db.execute("SELECT count(*) FROM webhook_events").fetchone()[0])


async def _refused(run: Running, event_id: str, version: object) -> str:
    answer = await run.send(event_id, _body(event_id, f"{event_id}@example.com", version))
    assert answer.status_code == 400, answer.text
    reason = str(answer.json()["error"])
    assert "'updated_at'" in reason and "'contacts'" in reason, reason
    return reason


async def test_a_version_no_order_can_be_read_from_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    """true, an object, a list and text that is no time are refused (400) before the flow has
    any version; the reason names the value and the kinds a version may be; nothing is kept."""
    async with running_engine(tmp_path) as run:
        values: dict[str, object] = {
            "true": True,
            '{"at": 5}': {"at": 5},
            "[1, 2]": [1, 2],
            "'yesterday'": "yesterday",
            "'2026-13-45T10:00:00Z'": "2026-13-45T10:00:00Z",
        }
        for index, (shown, value) in enumerate(values.items()):
            reason = await _refused(run, f"bad{index}", value)
            assert shown in reason, reason
            assert "ISO 8601" in reason and "a number" in reason, reason
        assert "a JSON boolean" in await _refused(run, "bad-false", False)
    assert _journaled(tmp_path) == 0
    assert core_rows(tmp_path) == {}


async def test_a_number_where_the_flow_takes_times_is_refused_and_a_time_accepted(
    tmp_path: Path,
) -> None:
    """Once the flow took a time, a number (even Unix seconds) is refused with the kind
    expected, and the next time is accepted and delivered: nothing accepted is lost."""
    async with running_engine(tmp_path) as run:
        first = await run.send("evt_1", event("evt_1", "ada@example.com", 1))
        assert first.status_code == 200, first.text
        reason = await _refused(run, "evt_2", 1767225600)
        assert "1767225600 (a number)" in reason and "times" in reason, reason
        assert "evt_1" in reason, reason  # where the flow's kind came from
        third = await run.send("evt_3", _body("evt_3", "bob@example.com", _TIME))
        assert third.status_code == 200, third.text
        await run.settled(2)
    assert sorted(core_rows(tmp_path)) == ["ada@example.com", "bob@example.com"]
    assert _journaled(tmp_path) == 2


async def test_a_time_where_the_flow_takes_numbers_is_refused(tmp_path: Path) -> None:
    """A flow whose first version was a number refuses a time, and a boolean is no number."""
    async with running_engine(tmp_path) as run:
        first = await run.send("n1", _body("n1", "ada@example.com", 7))
        assert first.status_code == 200, first.text
        reason = await _refused(run, "n2", _TIME)
        assert f"'{_TIME}' (an ISO 8601 time)" in reason and "numbers" in reason, reason
        assert "a JSON boolean" in await _refused(run, "n3", True)
        assert (await run.send("n4", _body("n4", "bob@example.com", "8"))).status_code == 200
        await run.settled(2)


async def test_mixed_kinds_across_the_events_of_a_batch_refuse_only_the_odd_one(
    tmp_path: Path,
) -> None:
    """In one array of events, the item whose version is of another kind than the first's is
    named in `refused` with its reason; the others are journaled and delivered."""
    items = [
        {"id": "b1", "type": "contact.updated", "data": {"email": "a@x.io", "updated_at": _TIME}},
        {"id": "b2", "type": "contact.updated", "data": {"email": "b@x.io", "updated_at": 42}},
        {"id": "b3", "type": "contact.updated", "data": {"email": "c@x.io", "updated_at": _TIME}},
    ]
    body = json.dumps(items).encode()
    async with running_engine(tmp_path) as run:
        answer = await run.post(body, signed("batch", body))
        assert answer.status_code == 200, answer.text
        (refused,) = answer.json()["refused"]
        assert refused["index"] == 1 and refused["status"] == 400
        assert "42 (a number)" in refused["reason"], refused
        await run.settled(2)
    assert sorted(core_rows(tmp_path)) == ["a@x.io", "c@x.io"]


async def test_a_flow_of_dates_refuses_a_time(tmp_path: Path) -> None:
    """ISO 8601 dates are versions (compared as text, which orders them); once a flow took a
    date, a time would be compared as text with it and is refused."""
    async with running_engine(tmp_path) as run:
        first = await run.send("d1", _body("d1", "ada@example.com", "2026-01-02"))
        assert first.status_code == 200, first.text
        reason = await _refused(run, "d2", _TIME)
        assert "dates (ISO 8601 text, YYYY-MM-DD)" in reason, reason
        assert "'2026-02-30' (text that is neither" in await _refused(run, "d3", "2026-02-30")
