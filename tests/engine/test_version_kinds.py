"""A webhook's version is a time, a date or a number, of one kind per flow
(engine/version_kinds.py): what a bulk event and a refused event do to the flow's kind."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.inbound import EventRefusedError
from syncwell.engine.webhooks import EventRouter
from syncwell.versions import comparable, version_kind
from syncwell.workspace import Workspace, parse_workspace

_WORKSPACE = """
systems:
  crm:
    kind: sqlite
    path: crm.db
    webhooks: {auth: {kind: none, unsigned: true}, records: data.rows,
               streams: {"contact.*": contacts}}
  core: {kind: sqlite, path: core.db}
core: core
flows:
  contacts: {source: crm, destination: core, stream: contacts, key: email,
             cursor: updated_at, mode: realtime}
"""


def _workspace() -> Workspace:
    return parse_workspace(_WORKSPACE, "syncwell.yaml", Path("/tmp"), env={})


def _bulk(event_id: str, *versions: object) -> dict[str, object]:
    rows = [{"email": f"{i}@x.io", "updated_at": v} for i, v in enumerate(versions)]
    return {"id": event_id, "type": "contact.updated", "data": {"rows": rows}}


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, None),
        (0, "number"),
        (1.5, "number"),
        ("42", "number"),
        (10**400, None),
        ("2026-12-07T13:00:00Z", "time"),
        ("2026-12-07 13:00:00.5", "time"),
        ("2026-12-07", "date"),
        ("2026-02-30", None),
        ("2026-13-45T10:00:00Z", None),
        ("yesterday", None),
        ({"at": 1}, None),
        ([1], None),
    ],
)
def test_each_value_has_the_kind_comparable_orders_it_by(value: object, kind: str | None) -> None:
    """bool is no number; a time that does not parse, other text, objects and lists: none."""
    assert version_kind(value) == kind


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.one_of(_JSON, st.dates().map(str), st.datetimes().map(str)))
def test_a_kind_is_what_comparable_orders_the_value_as(value: object) -> None:
    """Any JSON value (and any ISO date or time) gets a kind or none, never an error; a time
    or a number compares as a number, a date as text."""
    kind = version_kind(value)
    if kind in ("time", "number"):
        assert isinstance(comparable(value), float)
    elif kind == "date":
        assert comparable(value) == value
    if isinstance(value, bool | dict | list):
        assert kind is None


def test_a_bulk_event_of_mixed_kinds_is_refused_whole_and_sets_no_kind() -> None:
    """One event whose rows mix a time and a number is refused as a whole, like a row without
    the key; having been refused, it leaves the flow free to take numbers next."""
    router = EventRouter(_workspace())
    with pytest.raises(EventRefusedError, match=r"is 7 \(a number\).*versions are times"):
        router.event("crm", None, 0.0, _bulk("e1", "2026-12-07T13:00:00Z", 7))
    assert len(router.event("crm", None, 0.0, _bulk("e2", 7, 8)).changes) == 2
    with pytest.raises(EventRefusedError, match=r"versions are numbers.*event e2"):
        router.event("crm", None, 0.0, _bulk("e3", "2026-12-07T13:00:00Z"))


def test_rows_without_a_version_are_taken_and_set_no_kind() -> None:
    """An absent or null version is no kind: taken as before, and the next version sets it."""
    router = EventRouter(_workspace())
    taken = router.event("crm", None, 0.0, _bulk("e1", None, None))
    assert [change.version for change in taken.changes] == [None, None]
    assert router.event("crm", None, 0.0, _bulk("e2", "2026-12-07")).changes
    with pytest.raises(EventRefusedError, match="versions are dates"):
        router.event("crm", None, 0.0, _bulk("e3", 20261207))


def test_an_event_refused_for_another_reason_sets_no_kind() -> None:
    """A row without the key refuses the event after its versions were read: no kind kept."""
    router = EventRouter(_workspace())
    keyless = {"id": "e1", "type": "contact.updated", "data": {"rows": [{"updated_at": 5}]}}
    with pytest.raises(EventRefusedError, match="no value for the key"):
        router.event("crm", None, 0.0, keyless)
    assert router.event("crm", None, 0.0, _bulk("e2", "2026-12-07T13:00:00Z")).changes
