"""syncwell writing to a real Parse Server, which assigns each object its `objectId`, has no
upsert, never answers 409 and answers 404 for an object deleted there: a core table written
through the identity map (`write.ids`, `write.find` by email), and read back by objectId."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.store import IdentityScope, open_store
from tests.realtools.conftest import ParseServer
from tests.realtools.holding_proxy import HoldingProxy
from tests.scenarios.runs import SYNCWELL
from tests.waiting import until

WORKSPACE = """
name: parse-ids
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  parse:
    kind: http
    base_url: {url}
    headers: {{X-Parse-Application-Id: {app_id}}}
    auth: {{type: api_key, header: X-Parse-Master-Key, key: {master_key}}}
    retry: {{max_attempts: 2, base_s: 0.2}}
    streams:
      contacts:
        read:
          path: /classes/{cls}
          params: {{order: objectId}}
          records: results
          pagination: {{style: offset, offset_param: skip, limit_param: limit, page_size: 10}}
        write:
          ids: {ids}
          create: {{path: /classes/{cls}}}
          update: {{method: PUT, path: "/classes/{cls}/{{objectId}}"}}
          delete: {{path: "/classes/{cls}/{{objectId}}"}}
{find}
flows:
  contacts_out:
    source: core
    destination: parse
    stream: contacts
    key: id
    cursor: version
    lookback: 0s
    fields: {{id: coreId, email: email, name: name, version: version}}
    deletes: {{detect: scan, every: 0s}}{missing}
{extra}
"""

FIND = (
    "          find: {path: /classes/CLS, params: {where: {email: '{{record.email}}'}},"
    " records: results, by: email}"
)

READ_BACK = """
  contacts_back:
    source: parse
    destination: core
    stream: contacts
    key: objectId
    fields: {objectId: id, email: email, name: name}
    deletes: {detect: none}
"""

ROWS = [
    (1, "ada@parse.example", "Ada"),
    (2, "bob@parse.example", "Bob"),
    (3, "cy@parse.example", "Cy"),
]
SCOPE = IdentityScope("parse", "contacts", "core")


class ParseClass:
    """One Parse class, read and changed through Parse's own REST API."""

    def __init__(self, server: ParseServer, client: httpx.AsyncClient) -> None:
        self.server, self.client = server, client
        self.cls = f"Contact_{uuid.uuid4().hex[:8]}"
        self.url = f"{server.url}/classes/{self.cls}"

    async def objects(self) -> list[dict[str, object]]:
        """Every object of the class (Parse's `count` is an estimate: list them)."""
        answer = await self.client.get(self.url, params={"limit": "1000"})
        if answer.status_code == 400 and answer.json().get("code") == 119:
            return []  # never written: the class does not exist yet
        answer.raise_for_status()
        return list(answer.json()["results"])

    async def by_email(self) -> dict[str, list[dict[str, object]]]:
        found: dict[str, list[dict[str, object]]] = {}
        for record in await self.objects():
            found.setdefault(str(record.get("email")), []).append(record)
        return found

    async def create(self, body: dict[str, object]) -> str:
        answer = await self.client.post(self.url, json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["objectId"])

    async def put(self, object_id: str, body: dict[str, object]) -> None:
        answer = await self.client.put(f"{self.url}/{object_id}", json=body)
        assert answer.status_code == 200, answer.text

    async def delete(self, object_id: str) -> None:
        answer = await self.client.delete(f"{self.url}/{object_id}")
        assert answer.status_code == 200, answer.text


@pytest.fixture
async def parse(parse_server: ParseServer) -> AsyncIterator[ParseClass]:
    """A new, empty Parse class (each test its own)."""
    headers = {
        "X-Parse-Application-Id": parse_server.app_id,
        "X-Parse-Master-Key": parse_server.master_key,
    }
    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        yield ParseClass(parse_server, client)


def _workspace(
    root: Path,
    server: ParseServer,
    cls: str,
    *,
    url: str | None = None,
    ids: str = "{field: objectId}",
    find: bool = True,
    missing: str | None = None,
    extra: str = "",
) -> Path:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS contacts (id INTEGER PRIMARY KEY, email TEXT, name TEXT,"
            " version INT NOT NULL DEFAULT 1)"
        )
        db.executemany("INSERT OR IGNORE INTO contacts (id, email, name) VALUES (?, ?, ?)", ROWS)
    text = WORKSPACE.format(
        url=url or server.url,
        app_id=server.app_id,
        master_key=server.master_key,
        cls=cls,
        ids=ids,
        find=FIND.replace("CLS", cls) if find else "",
        missing="" if missing is None else f"\n    missing: {missing}",
        extra=extra,
    )
    path = root / "syncwell.yaml"
    path.write_text(text)
    return path


def _core(root: Path, sql: str, *args: object) -> None:
    with sqlite3.connect(root / "core.db") as db:
        db.execute(sql, args)


def _rows(root: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(root / "core.db") as db:
        return db.execute("SELECT id, email, name FROM contacts ORDER BY id").fetchall()


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path), analyse_every_s=None)
    await asyncio.wait_for(engine.run(once=True), timeout=120)
    return engine


async def _known(path: Path) -> dict[str, str | None]:
    store = await open_store(load_workspace(path).state)
    try:
        return await store.identities.known(SCOPE, ["1", "2", "3"])
    finally:
        await store.close()


async def _dead_letters(path: Path, flow: str) -> list[tuple[str | None, str]]:
    store = await open_store(load_workspace(path).state)
    try:
        return [(d.key, d.reason) for d in await store.dead_letters.list(flow=flow)]
    finally:
        await store.close()


@pytest.mark.parametrize(
    "ids", ["{field: objectId}", "{field: objectId, header: Location}"], ids=["body", "location"]
)
async def test_create_update_and_delete_through_syncwell_make_no_duplicate(
    tmp_path: Path, parse_server: ParseServer, parse: ParseClass, ids: str
) -> None:
    """Three core rows, one of which Parse already holds (same email, made there): the first
    run creates two objects and finds the third (3 in Parse, not 4), with each objectId
    taken from the create's answer (its body, or its Location header) into the map; an edit
    of every row is three PUTs to those ids (still 3 objects); a row deleted in the core is
    deleted in Parse by its id (2 objects)."""
    made_there = await parse.create({"email": "cy@parse.example", "name": "Cy (Parse)"})
    path = _workspace(tmp_path, parse_server, parse.cls, ids=ids)
    await _run(path)
    objects = await parse.by_email()
    assert {email: len(found) for email, found in objects.items()} == {
        "ada@parse.example": 1, "bob@parse.example": 1, "cy@parse.example": 1,
    }  # fmt: skip
    known = await _known(path)
    assert known["3"] == made_there
    assert {known["1"], known["2"]} == {
        objects["ada@parse.example"][0]["objectId"],
        objects["bob@parse.example"][0]["objectId"],
    }
    assert objects["cy@parse.example"][0]["name"] == "Cy"  # found, then updated

    _core(tmp_path, "UPDATE contacts SET name = name || ' (edited)', version = 2")
    await _run(path)
    objects = await parse.by_email()
    assert sorted(str(found[0]["name"]) for found in objects.values()) == [
        "Ada (edited)", "Bob (edited)", "Cy (edited)",
    ]  # fmt: skip
    assert sum(len(found) for found in objects.values()) == 3
    assert await _known(path) == known  # the same ids: updated, never created again

    _core(tmp_path, "DELETE FROM contacts WHERE id = 2")
    await _run(path)
    assert sorted(await parse.by_email()) == ["ada@parse.example", "cy@parse.example"]
    assert "2" not in await _known(path)  # its id forgotten with its object
    assert await _dead_letters(path, "contacts_out") == []


async def test_two_way_with_the_ids_parse_assigns(
    tmp_path: Path, parse_server: ParseServer, parse: ParseClass
) -> None:
    """Out by the identity map, back keyed by objectId: a name changed in Parse lands on the
    core row whose record it is (Parse's id mapped to the core's key), the two objects
    syncwell wrote are recognised as its own echoes and not written back, and an object
    created in Parse, which the core has no key for, is a dead letter that says so."""
    path = _workspace(tmp_path, parse_server, parse.cls, extra=READ_BACK)
    await _run(path)
    known = await _known(path)
    bob = known["2"]
    assert bob is not None
    await parse.put(bob, {"name": "Bob, renamed in Parse"})
    stranger = await parse.create({"email": "new@parse.example", "name": "Born in Parse"})
    engine = await _run(path)
    back = engine.progress["contacts_back"]
    assert back.written == 1 and back.echoes == 2
    assert engine.progress["contacts_out"].written == 0  # nothing went back to Parse
    assert _rows(tmp_path) == [
        (1, "ada@parse.example", "Ada"),
        (2, "bob@parse.example", "Bob, renamed in Parse"),
        (3, "cy@parse.example", "Cy"),
    ]
    letters = await _dead_letters(path, "contacts_back")
    assert [key for key, _ in letters] == [stranger]
    assert "created in parse" in letters[0][1]
    assert len(await parse.objects()) == 4  # the three syncwell made and the stranger


@pytest.mark.parametrize("find", [True, False], ids=["find", "no-find"])
async def test_kill_9_between_parses_create_and_storing_its_id_makes_no_duplicate(
    tmp_path: Path, parse_server: ParseServer, parse: ParseClass, find: bool
) -> None:
    """`syncwell run --once` goes to Parse through a proxy that forwards the first create
    and holds its answer: Parse has created the object, syncwell has not heard its id, and
    is killed with SIGKILL then. The next run makes no second object for that row: with
    `find:` it finds it by email and keeps its id; without, the row is a dead letter that
    says it may be there already. The other rows are created once each."""
    with HoldingProxy(parse_server.url) as proxy:
        path = _workspace(tmp_path, parse_server, parse.cls, url=proxy.url, find=find)
        proxy.hold_creates = True
        process = await asyncio.create_subprocess_exec(
            SYNCWELL, "run", "--once", "-w", str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await until(lambda: proxy.held == 1, within_s=60)
        finally:
            process.kill()
            await process.wait()
        assert len(await parse.objects()) == 1  # Parse created it; its answer never came
        (first,) = [key for key, remote in (await _known(path)).items() if remote is None]
        proxy.hold_creates = False
        await _run(path)
    objects = await parse.by_email()
    assert {email: len(found) for email, found in objects.items()} == {
        "ada@parse.example": 1, "bob@parse.example": 1, "cy@parse.example": 1,
    }  # fmt: skip
    letters = await _dead_letters(path, "contacts_out")
    known = await _known(path)
    if find:
        assert letters == []
        assert all(remote is not None for remote in known.values())
    else:
        assert [key for key, _ in letters] == [first]
        assert "may have reached parse" in letters[0][1]
        assert first not in known  # settled: the dead letter carries the doubt
        assert sum(remote is not None for remote in known.values()) == 2


@pytest.mark.parametrize(
    ("missing", "objects", "dead", "bob_again"),
    [("dead_letter", 2, 1, False), ("recreate", 3, 0, True), ("drop", 2, 0, False)],
)
async def test_an_object_deleted_in_parse_while_its_update_is_on_the_way(
    tmp_path: Path,
    parse_server: ParseServer,
    parse: ParseClass,
    missing: str,
    objects: int,
    dead: int,
    bob_again: bool,
) -> None:
    """Bob's object is deleted in Parse, then every core row is edited: Ada's and Cy's
    objects are updated whatever the policy; Bob's update (404 from Parse) is one dead letter
    (the default), a new object with a new id in the map (recreate), or dropped (drop). The
    run ends either way, and no object is duplicated."""
    path = _workspace(tmp_path, parse_server, parse.cls, missing=missing)
    await _run(path)
    bob = (await _known(path))["2"]
    assert bob is not None
    await parse.delete(bob)
    _core(tmp_path, "UPDATE contacts SET name = name || ' (edited)', version = 2")
    engine = await _run(path)
    found = await parse.by_email()
    assert sum(len(records) for records in found.values()) == objects
    assert found["ada@parse.example"][0]["name"] == "Ada (edited)"
    assert found["cy@parse.example"][0]["name"] == "Cy (edited)"
    progress = engine.progress["contacts_out"]
    assert progress.dead_lettered == dead
    letters = await _dead_letters(path, "contacts_out")
    assert [key for key, _ in letters] == (["2"] if dead else [])
    assert all("missing in parse" in reason for _, reason in letters)
    now = (await _known(path)).get("2")
    if bob_again:
        assert found["bob@parse.example"][0]["name"] == "Bob (edited)"
        assert now == found["bob@parse.example"][0]["objectId"] != bob
    else:
        assert "bob@parse.example" not in found
        assert now is None  # the id is spent: a replay creates Bob anew
    assert progress.missing_dropped == (missing == "drop")
