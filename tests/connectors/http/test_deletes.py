"""An http source without tombstones, without a cursor, or with NULL cursors, under the engine.

The loopback API (api.py) plays a tool that keeps no tombstones: a deleted record is simply
no longer listed. Each test proves that what changed arrives once, that what did not change
is not journaled again, and that what is gone is deleted, or held back loudly when the
listing stopped short.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from syncwell import Engine, load_workspace
from syncwell.store import open_store
from tests.connectors.http.api import ApiState, Fault, contact

WORKSPACE = """
core: app
state: sqlite:///{root}/state.db
systems:
  app: {{kind: sqlite, path: {root}/app.db}}
  crm:
    kind: http
    base_url: {url}
    retry: {{max_attempts: 2, base_s: 0.01, cap_s: 0.01}}
    streams:
      contacts:
        read:
          path: /cursor/items
          records: results
          total: total
          params: {{limit: 10}}
          pagination: {{style: cursor, cursor_path: paging.next.after, param: after}}
flows:
  contacts:
    source: crm
    destination: app
    stream: contacts
    key: id
    batch_size: 10
    fields: {{id: id, properties.email: email, updatedAt: updated_at}}
{extra}"""


def _workspace(root: Path, url: str, extra: str) -> Path:
    app = root / "app.db"
    if not app.exists():
        with sqlite3.connect(app) as db:
            db.execute("CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, updated_at TEXT)")
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(root=root, url=url, extra=extra))
    return path


def _core(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "app.db") as db:
        return dict(db.execute("SELECT id, email FROM contacts").fetchall())


async def _run(path: Path) -> Engine:
    engine = Engine(load_workspace(path), analyse_every_s=None)
    await engine.run(once=True)
    return engine


def _never_edited(i: int) -> dict[str, Any]:
    record = contact(i)
    record["updatedAt"] = None
    return record


async def test_null_cursors_are_read_once_then_only_when_they_change(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """Records never edited (NULL cursor) are taken in once; an idle poll journals nothing
    (not 5,516 needless writes), and an edit of one of them still arrives."""
    api.reset(20)
    api.contacts += [_never_edited(i) for i in range(20, 35)]
    path = _workspace(tmp_path, server_url, "    cursor: updatedAt\n    lookback: 0s\n")
    assert (await _run(path)).progress["contacts"].read == 35
    assert (await _run(path)).progress["contacts"].read == 0
    api.contacts[25]["properties"]["email"] = "edited@example.com"
    engine = await _run(path)
    assert engine.progress["contacts"].read == 1
    assert _core(tmp_path)["c0025"] == "edited@example.com"


async def test_a_source_without_a_cursor_journals_only_changes_and_deletes(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """No cursor (a mailing-list server's members): every poll reads all, journals only the
    new, the changed and the gone."""
    api.reset(25)
    path = _workspace(tmp_path, server_url, "")
    await _run(path)
    assert len(_core(tmp_path)) == 25
    assert (await _run(path)).progress["contacts"].read == 0, "an idle poll journals nothing"
    api.contacts[3]["properties"]["email"] = "new@example.com"
    api.contacts.append(contact(99))
    del api.contacts[10]
    engine = await _run(path)
    assert engine.progress["contacts"].read == 3
    core = _core(tmp_path)
    assert core["c0003"] == "new@example.com" and "c0099" in core and "c0010" not in core


async def test_a_key_scan_deletes_what_the_tool_dropped_without_a_tombstone(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """Read by cursor with a key scan after every read: two records deleted in the tool are
    deleted in the core, and nothing else."""
    api.reset(30)
    path = _workspace(
        tmp_path, server_url, "    cursor: updatedAt\n    deletes: {detect: scan, every: 0s}\n"
    )
    await _run(path)
    api.contacts = [c for c in api.contacts if c["id"] not in ("c0004", "c0017")]
    engine = await _run(path)
    assert engine.progress["contacts"].deletes_found == 2
    assert set(_core(tmp_path)) == {f"c{i:04d}" for i in range(30)} - {"c0004", "c0017"}


async def test_a_listing_cut_short_by_a_page_cap_deletes_nothing_and_says_why(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """The tool stops paging after 2 pages (20 of 30) without saying so; the `total` it
    reports does not match, so the scan is held: no key is taken for gone, an incident
    opens with the numbers."""
    api.reset(30)
    path = _workspace(
        tmp_path, server_url, "    cursor: updatedAt\n    deletes: {detect: scan, every: 0s}\n"
    )
    await _run(path)
    api.page_cap = 2
    engine = await _run(path)
    held = engine.progress["contacts"].deletes_held
    assert held is not None and "listed 20 records" in held and "says 30" in held
    assert len(_core(tmp_path)) == 30
    store = await open_store(load_workspace(path).state)
    try:
        causes = [i.cause for i in await store.incidents.list(open_only=True)]
    finally:
        await store.close()
    assert causes == ["deletes_held"]


async def test_a_second_edit_in_the_same_second_of_a_coarse_cursor_still_arrives(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """A cursor kept to the second names two versions written in that second with a read
    between them; the look-back remembers each version's values, not just its cursor, so
    the second edit is not skipped as already taken in."""
    api.reset(5)
    path = _workspace(tmp_path, server_url, "    cursor: updatedAt\n")
    await _run(path)
    api.contacts[2]["properties"]["email"] = "first@example.com"
    api.contacts[2]["updatedAt"] = "2024-01-01T05:00:00Z"
    assert (await _run(path)).progress["contacts"].read == 1
    api.contacts[2]["properties"]["email"] = "second@example.com"  # the same second
    engine = await _run(path)
    assert engine.progress["contacts"].read == 1
    assert _core(tmp_path)["c0002"] == "second@example.com"


async def test_an_empty_list_left_out_of_the_answer_deletes_the_last_records(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """A tool that leaves the list out when it is empty (Mailman: no `entries`, total 0): the
    last records to go are deleted, instead of the read failing on the missing path."""
    api.reset(3)
    path = _workspace(tmp_path, server_url, "")
    await _run(path)
    api.faults.append(Fault("/cursor/items", 200, {"total": 0}))
    engine = await _run(path)
    assert engine.progress["contacts"].deletes_found == 3
    assert _core(tmp_path) == {}


async def test_pages_that_did_not_change_cost_a_304_and_their_keys_stay(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """A stream without a cursor whose API tags pages with ETags: a quiet read is three 304s
    and journals nothing; after an edit on the first page only that page is read again, and
    the 20 records on the two unchanged pages are neither re-read nor taken for deleted (the
    key ledger knows which page each key was on); a delete is still found."""
    api.reset(30)
    api.etags = True
    path = _workspace(tmp_path, server_url, "")
    await _run(path)
    api.requests.clear()
    assert (await _run(path)).progress["contacts"].read == 0
    answers = [seen.headers.get("if-none-match") is not None for seen in api.seen("/cursor")]
    assert answers == [True, True, True], "every page asked for on condition"
    assert api.not_modified == 3
    api.contacts[1]["properties"]["email"] = "edited@example.com"
    engine = await _run(path)
    assert engine.progress["contacts"].read == 1
    assert engine.progress["contacts"].deletes_found == 0
    assert engine.progress["contacts"].deletes_held is None, "no key taken for gone"
    assert api.not_modified == 5, "the two unchanged pages answered 304"
    core = _core(tmp_path)
    assert len(core) == 30 and core["c0001"] == "edited@example.com"
    del api.contacts[25]  # every page changes: each carries the total
    engine = await _run(path)
    assert engine.progress["contacts"].deletes_found == 1
    assert api.not_modified == 5
    assert set(_core(tmp_path)) == {f"c{i:04d}" for i in range(30)} - {"c0025"}


async def test_a_whole_read_cut_short_takes_nothing_for_deleted(
    api: ApiState, server_url: str, tmp_path: Path
) -> None:
    """Without a cursor, what a read does not see is taken for deleted, so a read that is not
    whole fails instead: a page cap the API does not announce (its `total` disagrees), and a
    page an error rule ignores. Nothing is deleted either way; the records come back once the
    API answers whole again."""
    api.reset(30)
    path = _workspace(tmp_path, server_url, "")
    await _run(path)
    api.page_cap = 2
    engine = await _run(path)
    assert engine.progress["contacts"].deletes_found == 0
    assert "listed 20 records" in engine.progress["contacts"].last_error
    api.page_cap = None
    text = path.read_text().replace(
        "    retry:", "    errors: [{status: 404, class: ignore}]\n    retry:"
    )
    path.write_text(text)
    api.faults.append(Fault("/cursor/items", 404, {"message": "gone away"}, times=10))
    engine = await _run(path)
    assert engine.progress["contacts"].deletes_found == 0
    assert "error a rule says to ignore" in engine.progress["contacts"].last_error
    assert len(_core(tmp_path)) == 30
