"""`syncwell probe`: every system checked for real, each mistake a `fail` with its fix."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from syncwell import load_workspace
from syncwell.cli import app
from syncwell.engine.probe import probe_workspace
from syncwell.sandbox import FaultSettings, ProjectConfig, SandboxConfig, SandboxThread
from tests.conftest import PG_DSN
from tests.pgdata import create_contacts

runner = CliRunner()

WORKSPACE = """
name: probed
systems:
  app: {{kind: sqlite, path: app.db}}
  copy: {{kind: sqlite, path: copy.db}}
  project:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: sandbox, password: {password}}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          pagination: {{style: offset, page_size: 50}}
          incremental: {{params: {{modified: "{template}"}}}}
flows:
  tasks_in:
    source: project
    destination: app
    stream: tasks
    target: {target}
    key: id
    cursor: modified_at
    fields: [id, title, modified_at]
  people_out:
    source: app
    destination: copy
    stream: people
    target: people_copy
    key: email
    cursor: {people_cursor}
"""


@pytest.fixture(scope="module")
def project_url() -> Iterator[str]:
    quiet = FaultSettings()
    config = SandboxConfig(
        project=ProjectConfig(port=0, tasks=60, faults=quiet, filter_syntax="operator")
    )
    config = config.model_copy(
        update={
            "crm": config.crm.model_copy(update={"port": 0, "contacts": 5, "companies": 1}),
            "email": config.email.model_copy(update={"port": 0}),
        }
    )
    with SandboxThread(config) as endpoints:
        yield endpoints.project_url


def _workspace(root: Path, url: str, **changes: str) -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, modified_at TEXT)")
        db.execute("CREATE TABLE tasks_no_index (id INTEGER, title TEXT, modified_at TEXT)")
        db.execute("CREATE TABLE people (email TEXT NOT NULL PRIMARY KEY, updated_at TEXT)")
    with sqlite3.connect(root / "copy.db") as db:
        db.execute("CREATE TABLE people_copy (email TEXT PRIMARY KEY, updated_at TEXT)")
    values = {
        "url": url,
        "password": "sandbox-project-pass",
        "template": ">={since}",
        "target": "tasks",
        "people_cursor": "updated_at",
        **changes,
    }
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(**values))
    return path


def _probe(path: Path) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["probe", "-w", str(path), "--json"])
    return result.exit_code, json.loads(result.output)


def _statuses(results: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    return {(r["system"], r["flow"], r["check"]): r["status"] for r in results}


def test_a_sound_workspace_passes_every_check(project_url: str, tmp_path: Path) -> None:
    """Sign-in, tables, keys, cursor, fields and the filter's self-check: all ok, exit 0."""
    code, results = _probe(_workspace(tmp_path, project_url))
    assert code == 0, results
    assert _statuses(results) == {
        ("app", "", "connect"): "ok",
        ("app", "people_out", "table"): "ok",  # as a source
        ("app", "tasks_in", "table"): "ok",
        ("copy", "", "connect"): "ok",
        ("copy", "people_out", "table"): "ok",
        ("project", "tasks_in", "read"): "ok",
        ("project", "tasks_in", "key"): "ok",
        ("project", "tasks_in", "cursor"): "ok",
        ("project", "tasks_in", "fields"): "ok",
        ("project", "tasks_in", "filter"): "ok",
    }
    tables = [r for r in results if r["check"] == "table"]
    assert len(tables) == 3  # people (source), tasks and people_copy (destinations)
    filter_ = next(r for r in results if r["check"] == "filter")
    assert "5 of the 5 newest records read before came back" in filter_["found"]


def test_each_mistake_fails_with_its_fix(project_url: str, tmp_path: Path) -> None:
    """An equal-to filter, a missing column, a table without a unique key: each a `fail`."""
    path = _workspace(
        tmp_path,
        project_url,
        template="{since}",
        target="tasks_no_index",
        people_cursor="changed_at",
    )
    code, results = _probe(path)
    assert code == 1
    failed = {(r["flow"], r["check"]): r["found"] for r in results if r["status"] == "fail"}
    assert "none of the 5 newest records read before came back" in failed[("tasks_in", "filter")]
    assert "source column(s) changed_at" in failed[("people_out", "table")]
    assert "CREATE UNIQUE INDEX ON" in failed[("tasks_in", "table")]


def test_wrong_credentials_fail_the_read_and_the_text_shows_a_table(
    project_url: str, tmp_path: Path
) -> None:
    """A wrong password is a failed read saying 401; the text output is a table per system."""
    path = _workspace(tmp_path, project_url, password="wrong")
    result = runner.invoke(app, ["probe", "-w", str(path)])
    assert result.exit_code == 1
    text = result.output
    assert "project" in text and "app" in text and "fail" in text and "401" in text
    assert "checks: 1 failed, 0 warned" in text


def test_a_missing_database_file_is_a_failed_connection(tmp_path: Path) -> None:
    """A sqlite system whose file does not exist fails to connect (and none is created)."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "name: nofile\nsystems:\n  a: {kind: sqlite, path: missing.db}\n"
        "  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: u}\n"
    )
    code, results = _probe(path)
    assert code == 1 and not (tmp_path / "missing.db").exists()
    assert results[0]["check"] == "connect" and "no file at" in results[0]["found"]


async def test_postgres_tables_are_checked_by_the_connectors_code(
    pg: asyncpg.Connection, pg_schema: str, tmp_path: Path
) -> None:
    """A postgres source table passes; a destination without a unique key fails with the fix."""
    await create_contacts(pg, pg_schema, "contacts")
    await pg.execute(f"CREATE TABLE {pg_schema}.copy (id bigint, email text, updated_at text)")
    path = tmp_path / "syncwell.yaml"
    system = f"{{kind: postgres, dsn: '{PG_DSN}', schema: {pg_schema}}}"
    path.write_text(
        f"name: pg\nsystems:\n  a: {system}\n  b: {system}\nflows:\n"
        "  f: {source: a, destination: b, stream: contacts, target: copy, key: id, "
        "cursor: updated_at, fields: [id, email, updated_at]}\n"
    )
    results = await probe_workspace(load_workspace(path))
    found = {(r.system, r.check): (r.status, r.found) for r in results}
    assert found[("a", "connect")][0] == "ok" and found[("b", "connect")][0] == "ok"
    assert found[("a", "table")] == (
        "ok",
        "table contacts holds id, updated_at, email; about 0 row(s)",
    )
    status, said = found[("b", "table")]
    assert status == "fail" and f'CREATE UNIQUE INDEX ON "{pg_schema}"."copy"' in said


def test_check_points_to_the_probe(tmp_path: Path) -> None:
    """`syncwell check` reads the file only, and says which command connects."""
    path = tmp_path / "syncwell.yaml"
    path.write_text("name: hint\nsystems:\n  a: {kind: sqlite, path: a.db}\n")
    result = runner.invoke(app, ["check", "-w", str(path)])
    assert result.exit_code == 0, result.output
    assert "`syncwell probe` checks the live systems" in result.output


def test_check_warns_of_a_filter_that_never_checks_itself(tmp_path: Path) -> None:
    """`check: false` on a stream a flow reads is a `syncwell check` warning naming the fix."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "name: unchecked\nsystems:\n  a: {kind: sqlite, path: a.db}\n  api:\n    kind: http\n"
        "    base_url: http://127.0.0.1:1\n    streams:\n      items:\n        read:\n"
        "          path: /items\n          incremental: {param: since, check: false}\n"
        "flows:\n  f: {source: api, destination: a, stream: items, key: id, cursor: u}\n"
    )
    result = runner.invoke(app, ["check", "-w", str(path)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "systems.api.streams.items.read.incremental: `check: false`" in text
