"""The conformance kit's destination checks over the built-in destinations: a SQLite table, a
PostgreSQL table, and http streams on loopback (the test API's things, by key; the tracker's
issues, whose ids the tracker assigns, with and without a lookup or an idempotency key)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

import asyncpg
import pytest

from syncwell import load_workspace
from syncwell.testing import (
    ConformanceReport,
    DestinationCheck,
    assert_conformant,
    check_destination,
)
from tests.conftest import PG_DSN
from tests.connectors.http import api, tracker
from tests.connectors.http.tracker import LoopbackServer, TrackerServer

ALL = list(DestinationCheck)
BUT_LOST_ID = [check for check in ALL if check is not DestinationCheck.LOST_ID]


class Contacts:
    """Records of the flow's source columns `id`, `name`/`email`, `version`."""

    def __init__(self, text: str = "name", refused: object = None) -> None:
        self.text, self.bad = text, refused

    def record(self, number: int, version: int) -> Mapping[str, object]:
        value = f"n{number}.v{version}@kit.example"
        return {"id": number + 1, self.text: value, "version": version}

    def refused(self) -> Mapping[str, object] | None:
        return {"id": 1000, self.text: self.bad, "version": 1}


def _write(root: Path, systems: str, flow: str) -> Path:
    path = root / "syncwell.yaml"
    path.write_text(
        "name: kit\ncore: core\nsystems:\n  core: {kind: sqlite, path: core.db}\n"
        f"{systems}\nflows:\n  out:\n    source: core\n    stream: contacts\n{flow}"
    )
    return path


async def _check(path: Path, samples: Contacts) -> ConformanceReport:
    report = await check_destination(load_workspace(path), "out", samples)
    print(report)  # what each check saw, shown with -s or -rA
    return report


async def test_a_sqlite_table_conforms(tmp_path: Path) -> None:
    """A SQLite table keeps every promise; the refused record (NULL in a NOT NULL column) is
    found by halving, since SQLite's error names no row."""
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, version INT)"
        )
    path = _write(
        tmp_path,
        "  app: {kind: sqlite, path: app.db}",
        "    destination: app\n    key: id\n    cursor: version\n    fields: [id, name, version]\n",
    )
    report = await _check(path, Contacts())
    assert_conformant(report, required=BUT_LOST_ID)
    assert "found by halving" in report.result(DestinationCheck.REFUSED).detail
    assert "recreated" in report.result(DestinationCheck.MISSING).detail


async def test_a_postgres_table_conforms(tmp_path: Path, pg_schema: str) -> None:
    """A PostgreSQL table keeps every promise, newest-wins in its own merge."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(
            f"CREATE TABLE {pg_schema}.contacts (id int PRIMARY KEY, name text NOT NULL,"
            " version int)"
        )
    finally:
        await connection.close()
    path = _write(
        tmp_path,
        f'  app: {{kind: postgres, dsn: "{PG_DSN}", schema: {pg_schema}}}',
        "    destination: app\n    key: id\n    cursor: version\n    fields: [id, name, version]\n",
    )
    report = await _check(path, Contacts())
    assert_conformant(report, required=BUT_LOST_ID)
    assert "kept version 3" in report.result(DestinationCheck.STALE).detail


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with LoopbackServer(api.app) as url:
        yield url


@pytest.fixture(scope="module")
def tracker_url() -> Iterator[str]:
    with TrackerServer() as url:
        yield url


THINGS = """  app:
    kind: http
    base_url: {url}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      things:
        read: {{path: /things, records: things}}
        write: {write}"""
FLOW = """    destination: app
    target: {target}
    key: id
    cursor: version
    fields: {fields}
"""


@pytest.mark.parametrize(
    "write",
    [
        '{upsert: {method: PUT, path: "/things/{id}"}, delete: {path: "/things/{id}"}}',
        '{create: {path: /things}, update: {path: "/things/{id}"}, delete: {path: "/things/{id}"}}',
    ],
    ids=["upsert", "create-then-409"],
)
async def test_an_http_stream_keyed_by_the_records_own_key_conforms(
    tmp_path: Path, api_url: str, write: str
) -> None:
    """The test API's things written by key (an upsert; a create that falls back to an
    update on 409): the engine's record guard keeps the older version out, the 422 names
    the refused record, and a record deleted there is recreated by the next write."""
    api.STATE.reset()
    path = _write(
        tmp_path,
        THINGS.format(url=api_url, write=write),
        FLOW.format(target="things", fields="[id, email, version]"),
    )
    report = await _check(path, Contacts("email", refused="not an email"))
    assert_conformant(report, required=BUT_LOST_ID)
    assert "named by its key" in report.result(DestinationCheck.REFUSED).detail
    assert "record guard dropped" in report.result(DestinationCheck.STALE).detail
    assert "recreated" in report.result(DestinationCheck.MISSING).detail
    assert api.STATE.things == {}  # the kit deleted what it wrote


ISSUES = """  app:
    kind: http
    base_url: {url}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      issues:
        read: {{path: /issues.json, records: issues}}
        write:
          ids: {{field: id, answer: issue.id}}
          create: {{path: /issues.json, body: {{issue: "{{{{record}}}}"}}}}
          update: {{path: "/issues/{{id}}.json", method: PUT, body: {{issue: "{{{{record}}}}"}}}}
          delete: {{path: "/issues/{{id}}.json"}}
{extra}"""
FIND = (
    "          find: {path: /issues.json, params: {external_id: '{{record.external_id}}'},"
    " records: issues, by: external_id}"
)


@pytest.mark.parametrize(
    ("extra", "lost"),
    [
        ("", "refused with RecordRejectedError"),
        (FIND, "found the record and kept its id"),
        ("          idempotency_header: Idempotency-Key", "found the record and kept its id"),
    ],
    ids=["ids", "ids+find", "ids+idempotency"],
)
async def test_an_http_stream_whose_tool_assigns_ids_conforms(
    tmp_path: Path, tracker_url: str, extra: str, lost: str
) -> None:
    """The tracker assigns ids, has no upsert and never answers 409: each record gets its
    own id, a second write updates by it, a create whose id was lost is found again (by
    `find:`, or the same idempotency key) or refused with the reason, never made twice, and
    an update of an issue deleted there is a RecordMissingError."""
    state = tracker.reset()
    state.honour_idempotency = "idempotency" in extra
    path = _write(
        tmp_path,
        ISSUES.format(url=tracker_url, extra=extra),
        FLOW.format(
            target="issues", fields="{id: external_id, subject: subject, version: version}"
        ),
    )
    report = await _check(path, Contacts("subject", refused=""))
    assert_conformant(report, required=ALL)
    assert lost in report.result(DestinationCheck.LOST_ID).detail
    assert "RecordMissingError names '2'" in report.result(DestinationCheck.MISSING).detail
    assert state.issues == {}  # the kit deleted what it wrote
    assert state.posts == 3 + 1 + 2  # the first three, the lost one once, the two beside


async def test_the_kit_fails_a_tool_that_ignores_a_field(tmp_path: Path, tracker_url: str) -> None:
    """A tracker that answers 2xx and does not store `subject` (as Redmine ignores
    done_ratio on parent issues) fails the write check, naming the field."""
    state = tracker.reset()
    state.ignored = frozenset({"subject"})
    path = _write(
        tmp_path,
        ISSUES.format(url=tracker_url, extra=""),
        FLOW.format(
            target="issues", fields="{id: external_id, subject: subject, version: version}"
        ),
    )
    report = await _check(path, Contacts("subject"))
    write = report.result(DestinationCheck.WRITE)
    assert write.outcome == "failed"
    assert "subject was sent as 'n0.v1@kit.example' and is not read back" in write.detail


CREATE_ONLY = """  app:
    kind: http
    base_url: {url}
    streams:
      issues:
        read: {{path: /issues.json, records: issues}}
        write:
          create: {{path: /issues.json, body: {{issue: "{{{{record}}}}"}}}}"""


async def test_the_kit_fails_a_destination_that_duplicates_a_rewritten_batch(
    tmp_path: Path, tracker_url: str
) -> None:
    """The tracker written by create only, no ids kept (every write a POST: the duplicates
    issue 12 found): the same batch written again makes each issue twice, and the kit's
    second check says so."""
    tracker.reset()
    fields = "{id: external_id, subject: subject, version: version}"
    path = _write(
        tmp_path,
        CREATE_ONLY.format(url=tracker_url),
        FLOW.format(target="issues", fields=fields),
    )
    report = await _check(path, Contacts("subject"))
    assert report.result(DestinationCheck.WRITE).outcome == "passed"
    rewrite = report.result(DestinationCheck.REWRITE)
    assert rewrite.outcome == "failed"
    assert "record '1' is there 2 times" in rewrite.detail


async def test_the_kit_fails_a_tool_that_ignores_the_idempotency_key(
    tmp_path: Path, tracker_url: str
) -> None:
    """`write.idempotency_header` set for a tracker that ignores the header: the create
    whose id was lost is sent again under the same key, the tracker makes a second issue,
    and the lost-id check says so (the workspace must add `find:` for such a tool)."""
    state = tracker.reset()
    state.honour_idempotency = False
    fields = "{id: external_id, subject: subject, version: version}"
    path = _write(
        tmp_path,
        ISSUES.format(url=tracker_url, extra="          idempotency_header: Idempotency-Key"),
        FLOW.format(target="issues", fields=fields),
    )
    report = await _check(path, Contacts("subject"))
    lost = report.result(DestinationCheck.LOST_ID)
    assert lost.outcome == "failed"
    assert "record '4' is there 2 times after the retry" in lost.detail
