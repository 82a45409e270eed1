"""Two-way sync between two databases: changes cross once, never echo, conflicts by policy."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from syncwell import Engine, load_workspace

WORKSPACE = """
name: two-way
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  crm: {{kind: sqlite, path: crm.db}}
flows:
  to_crm:
    source: core
    destination: crm
    stream: contacts
    key: email
    cursor: updated_at
    lookback: 0s
    conflict: {conflict}
  from_crm:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    lookback: 0s
    conflict: {conflict}
"""


def _db(root: Path, name: str) -> sqlite3.Connection:
    return sqlite3.connect(root / f"{name}.db", isolation_level=None)


def _setup(root: Path, conflict: str = "newest", *, owned: bool = False) -> Path:
    for name in ("core", "crm"):
        with _db(root, name) as db:
            db.execute(
                "CREATE TABLE contacts (email TEXT NOT NULL PRIMARY KEY, name TEXT, "
                "updated_at TEXT NOT NULL, stage TEXT)"
            )
            # Every write that changes a row is logged: the effect, whatever was sent.
            db.execute("CREATE TABLE writes (email TEXT, name TEXT)")
            for event in ("INSERT", "UPDATE"):
                db.execute(
                    f"CREATE TRIGGER log_{event} AFTER {event} ON contacts "
                    "BEGIN INSERT INTO writes VALUES (NEW.email, NEW.name); END"
                )
    text = WORKSPACE.format(conflict=conflict)
    if owned:  # the product owns the name, sales own the stage
        text = text.replace(
            "    conflict: newest\n  from_crm:",
            "    conflict: newest\n    fields: [email, name, updated_at]\n  from_crm:",
        )
        text += "    fields: [email, name, stage, updated_at]\n"
    path = root / "syncwell.yaml"
    path.write_text(text)
    return path


def _put(root: Path, system: str, email: str, name: str, at: str, stage: str | None = None) -> None:
    with _db(root, system) as db:
        db.execute(
            "INSERT INTO contacts VALUES (?, ?, ?, ?) ON CONFLICT(email) DO UPDATE "
            "SET name = excluded.name, updated_at = excluded.updated_at, stage = excluded.stage",
            (email, name, at, stage),
        )


def _rows(root: Path, system: str) -> dict[str, tuple[str, str]]:
    with _db(root, system) as db:
        return {e: (n, u) for e, n, u in db.execute("SELECT email, name, updated_at FROM contacts")}


def _writes(root: Path, system: str) -> list[tuple[str, str]]:
    with _db(root, system) as db:
        return list(db.execute("SELECT email, name FROM writes"))


async def _sync(path: Path) -> Engine:
    engine = Engine(load_workspace(path))
    await engine.run(once=True)
    return engine


async def test_a_change_on_either_side_arrives_once_and_does_not_come_back(
    tmp_path: Path,
) -> None:
    """Core's and the CRM's new records cross over; the next runs find nothing to write."""
    path = _setup(tmp_path)
    _put(tmp_path, "core", "ada@x.io", "Ada", "2026-01-01 10:00:00")
    _put(tmp_path, "crm", "bob@x.io", "Bob", "2026-01-01 10:00:01")
    first = await _sync(path)
    assert _rows(tmp_path, "core") == _rows(tmp_path, "crm")
    assert _writes(tmp_path, "core") == [("ada@x.io", "Ada"), ("bob@x.io", "Bob")]
    assert _writes(tmp_path, "crm") == [("bob@x.io", "Bob"), ("ada@x.io", "Ada")]
    _put(tmp_path, "crm", "ada@x.io", "Ada Lovelace", "2026-01-01 11:00:00")
    second = await _sync(path)
    assert _rows(tmp_path, "core")["ada@x.io"] == ("Ada Lovelace", "2026-01-01 11:00:00")
    assert _writes(tmp_path, "core")[2:] == [("ada@x.io", "Ada Lovelace")]
    # The edit came back to core through the CRM's flow; it must not go out again.
    before = (_writes(tmp_path, "core"), _writes(tmp_path, "crm"))
    third = await _sync(path)
    assert (_writes(tmp_path, "core"), _writes(tmp_path, "crm")) == before
    assert _writes(tmp_path, "crm")[2:] == [("ada@x.io", "Ada Lovelace")]  # the edit itself
    assert _rows(tmp_path, "core") == _rows(tmp_path, "crm")
    # Each record that crossed was read back from where it landed and dropped unwritten. Which
    # screen drops it depends on which flow reads first: an echo; or, when the CRM's flow wrote
    # Bob into core before core's first read, a record the first sync found already matching.
    dropped = sum(
        p.echoes + p.stale + p.matched
        for run in (first, second, third)
        for p in run.progress.values()
    )
    assert dropped >= 2


@pytest.mark.parametrize(
    ("conflict", "winner"), [("newest", "core"), ("crm", "crm"), ("core", "core")]
)
async def test_a_record_changed_on_both_sides_resolves_by_the_conflict_policy(
    tmp_path: Path, conflict: str, winner: str
) -> None:
    """Core's edit is newer; `newest` and `core` keep it, `crm` keeps the CRM's older edit."""
    path = _setup(tmp_path, conflict)
    _put(tmp_path, "core", "ada@x.io", "Ada", "2026-01-01 10:00:00")
    await _sync(path)
    _put(tmp_path, "crm", "ada@x.io", "Ada (crm)", "2026-01-01 11:00:00")
    _put(tmp_path, "core", "ada@x.io", "Ada (core)", "2026-01-01 12:00:00")
    await _sync(path)
    await _sync(path)
    expected = f"Ada ({winner})"
    assert _rows(tmp_path, "core")["ada@x.io"][0] == expected
    assert _rows(tmp_path, "crm")["ada@x.io"][0] == expected


async def test_a_change_to_a_field_only_the_other_side_owns_is_not_taken_for_an_echo(
    tmp_path: Path,
) -> None:
    """Sales change only the stage of a contact the product wrote: the core gets the stage."""
    path = _setup(tmp_path, owned=True)
    _put(tmp_path, "core", "ada@x.io", "Ada", "2026-01-01 10:00:00")
    await _sync(path)
    await _sync(path)
    _put(tmp_path, "crm", "ada@x.io", "Ada", "2026-01-01 11:00:00", stage="customer")
    await _sync(path)
    with _db(tmp_path, "core") as db:
        (stage,) = db.execute("SELECT stage FROM contacts WHERE email = 'ada@x.io'").fetchone()
    assert stage == "customer"


async def test_setting_a_value_back_to_what_syncwell_once_wrote_still_syncs(tmp_path: Path) -> None:
    """Ann goes to the CRM; sales rename her Bob, then Ann again: the core ends with Ann."""
    path = _setup(tmp_path)
    _put(tmp_path, "core", "ann@x.io", "Ann", "2026-01-01 10:00:00")
    await _sync(path)
    await _sync(path)
    _put(tmp_path, "crm", "ann@x.io", "Bob", "2026-01-01 11:00:00")
    await _sync(path)
    assert _rows(tmp_path, "core")["ann@x.io"][0] == "Bob"
    _put(tmp_path, "crm", "ann@x.io", "Ann", "2026-01-01 12:00:00")
    await _sync(path)
    assert _rows(tmp_path, "core")["ann@x.io"][0] == "Ann"
