"""`syncwell init` and `syncwell tables`: from a database's catalog to a running sync.

Each test runs the commands as a user types them (typer's CliRunner) against the machine's
PostgreSQL or SQLite files, then checks the destination holds what the source holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.connectors.ddl import map_type
from syncwell.workspace import load_workspace
from tests.conftest import PG_DSN

runner = CliRunner()

SOURCE_TABLE = """
CREATE TABLE {schema}.leads (
    id bigint PRIMARY KEY,
    email text NOT NULL,
    visits integer,
    amount numeric(12, 3),
    vip boolean,
    tags text[],
    scores integer[],
    profile jsonb,
    ref uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON {schema}.leads (updated_at, id);
INSERT INTO {schema}.leads (id, email, visits, amount, vip, tags, scores, profile, ref)
SELECT g, 'lead' || g || '@example.com', g % 7, g * 1.125, g % 2 = 0,
       ARRAY['a', 'b' || g], ARRAY[g, g + 1], jsonb_build_object('n', g, 'x', ARRAY[1, 2]),
       md5(g::text)::uuid
FROM generate_series(1, 300) g;
"""


def _sql(statement: str, *args: object) -> list[Any]:
    """Run SQL on the test database from sync code (the CLI runs an event loop of its own);
    the rows of a query, nothing for a script of statements."""

    async def run() -> list[Any]:
        connection = await asyncpg.connect(PG_DSN)
        try:
            if args or statement.startswith("SELECT"):
                return list(await connection.fetch(statement, *args))
            await connection.execute(statement)
            return []
        finally:
            await connection.close()

    return asyncio.run(run())


@pytest.fixture
def schemas() -> Iterator[tuple[str, str]]:
    """A source schema (made) and a destination schema (left for `tables --create`)."""
    tag = uuid.uuid4().hex[:10]
    source, destination = f"init_src_{tag}", f"init_dst_{tag}"
    _sql(f"CREATE SCHEMA {source}")
    try:
        yield source, destination
    finally:
        _sql(f"DROP SCHEMA IF EXISTS {source} CASCADE; DROP SCHEMA IF EXISTS {destination} CASCADE")


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _rows(schema: str, table: str, key: str = "id") -> list[str]:
    return [
        row[0] for row in _sql(f"SELECT to_jsonb(t)::text FROM {schema}.{table} t ORDER BY {key}")
    ]


def _said(path: Path) -> str:
    """The file's text with wrapped comments joined, so a phrase can be looked for whole."""
    return re.sub(r"\n *# ", " ", path.read_text())


def _init_pg(tmp_path: Path, source: str, destination: str, *more: str) -> Path:
    path = tmp_path / "syncwell.yaml"
    _ok(
        "init", "--from", PG_DSN, "--schema", source, "--to", PG_DSN,
        "--to-schema", destination, "-w", str(path), *more,
    )  # fmt: skip
    return path


def test_a_postgres_table_syncs_to_another_schema_with_init_tables_and_run(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """init proposes id and updated_at, tables --create makes the target, run --once fills it."""
    source, destination = schemas
    _sql(SOURCE_TABLE.format(schema=source))
    path = _init_pg(tmp_path, source, destination)
    text = _said(path)
    assert "key id: the primary key" in text
    assert "an index starts with it" in text
    flow = load_workspace(path).flows["leads"]
    assert (flow.key, flow.cursor) == (("id",), "updated_at")
    _ok("check", "-w", str(path))
    printed = _ok("tables", "-w", str(path))
    assert f'CREATE TABLE "{destination}"."leads"' in printed
    assert _sql("SELECT to_regclass($1)", f"{destination}.leads")[0][0] is None  # only printed
    _ok("tables", "-w", str(path), "--create")
    _ok("run", "-w", str(path), "--once")
    assert _rows(destination, "leads") == _rows(source, "leads")
    assert len(_rows(destination, "leads")) == 300
    _sql(f"UPDATE {source}.leads SET vip = NOT vip, updated_at = now() WHERE id % 10 = 0")
    _ok("run", "-w", str(path), "--once")
    assert _rows(destination, "leads") == _rows(source, "leads")
    again = _ok("tables", "-w", str(path))
    assert "exists" in again and "CREATE TABLE" not in again


def test_the_ddl_keeps_each_common_postgres_type(tmp_path: Path, schemas: tuple[str, str]) -> None:
    """Between PostgreSQL databases every column keeps its type; the key is the primary key."""
    source, destination = schemas
    _sql(SOURCE_TABLE.format(schema=source))
    path = _init_pg(tmp_path, source, destination)
    _ok("tables", "-w", str(path), "--create")
    types = (
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM "
        "pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 ORDER BY a.attnum"
    )
    made = [tuple(row) for row in _sql(types, f"{destination}.leads")]
    assert [row[:2] for row in made] == [tuple(row[:2]) for row in _sql(types, f"{source}.leads")]
    assert {row[0]: row[1] for row in made} == {
        "id": "bigint", "email": "text", "visits": "integer", "amount": "numeric(12,3)",
        "vip": "boolean", "tags": "text[]", "scores": "integer[]", "profile": "jsonb",
        "ref": "uuid", "updated_at": "timestamp with time zone",
    }  # fmt: skip
    primary = _sql(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
        f"{destination}.leads",
    )
    assert [row[0] for row in primary] == ["id"]


@pytest.mark.parametrize(
    ("declared", "sqlite"),
    [
        ("text", "TEXT"), ("integer", "INTEGER"), ("bigint", "INTEGER"), ("boolean", "INTEGER"),
        ("numeric(12,3)", "TEXT"), ("timestamp with time zone", "TEXT"), ("jsonb", "TEXT"),
        ("integer[]", "TEXT"), ("uuid", "TEXT"), ("double precision", "REAL"), ("bytea", "BLOB"),
    ],
)  # fmt: skip
def test_postgres_types_map_to_the_sqlite_class_the_connector_writes(
    declared: str, sqlite: str
) -> None:
    """Towards SQLite a type becomes the class its values are written as: none is lost."""
    assert map_type(declared, "postgres", "sqlite").type == sqlite
    assert map_type(declared, "postgres", "postgres").type == declared


def test_a_type_of_the_source_database_travels_as_text() -> None:
    """An enum or domain the destination may lack becomes text, and the DDL says what it was."""
    mapped = map_type("mood", "postgres", "postgres", foreign=True)
    assert (mapped.type, mapped.note) == ("text", "mood in the source: a type of its own")


def test_sqlite_to_sqlite_syncs_with_init_tables_and_run(tmp_path: Path) -> None:
    """A SQLite file syncs to another: the INTEGER PRIMARY KEY is the key, updated_at the cursor."""
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.executescript(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, updated_at TEXT);"
            "CREATE INDEX people_changed ON people (updated_at);"
            "INSERT INTO people (name, updated_at) VALUES ('ann', '2026-01-01 10:00:00'),"
            "('bo', '2026-01-02 10:00:00'), ('cy', NULL);"
        )
    path = tmp_path / "syncwell.yaml"
    _ok("init", "--from", f"sqlite:///{tmp_path}/app.db", "--to", f"sqlite:///{tmp_path}/copy.db",
        "-w", str(path))  # fmt: skip
    flow = load_workspace(path).flows["people"]
    assert (flow.key, flow.cursor) == (("id",), "updated_at")
    assert "path: copy.db" in path.read_text()  # relative to the workspace's folder
    _ok("tables", "-w", str(path), "--create")
    _ok("run", "-w", str(path), "--once")
    query = "SELECT * FROM people ORDER BY id"
    with (
        sqlite3.connect(tmp_path / "app.db") as source,
        sqlite3.connect(tmp_path / "copy.db") as copy,
    ):
        assert copy.execute(query).fetchall() == source.execute(query).fetchall()
        assert len(copy.execute(query).fetchall()) == 3


def test_a_table_without_a_key_is_written_commented_out_with_why(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """No primary key: a unique index on NOT NULL columns serves; with none the flow is left out."""
    source, destination = schemas
    _sql(
        f"CREATE TABLE {source}.events (at timestamptz, what text);"
        f"CREATE TABLE {source}.codes (code text NOT NULL, label text, nick text UNIQUE);"
        f"CREATE UNIQUE INDEX ON {source}.codes (code)"
    )
    path = _init_pg(tmp_path, source, destination)
    text = _said(path)
    loaded = load_workspace(path)
    assert "events" not in loaded.flows
    assert "  # events:\n" in path.read_text()
    assert "no primary key and no unique index on NOT NULL columns" in text
    assert loaded.flows["codes"].key == ("code",)
    assert 'a unique index on ("code"), whose columns are NOT NULL' in text
    _ok("check", "-w", str(path))
    printed = _ok("tables", "-w", str(path))
    assert "events" not in printed and "codes" in printed


def test_a_table_without_a_change_column_is_read_whole_and_still_syncs(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """No updated_at-like column: no cursor, said in the file, and the whole reads sync it."""
    source, destination = schemas
    _sql(
        f"CREATE TABLE {source}.plans (code text PRIMARY KEY, price numeric, created_at date);"
        f"INSERT INTO {source}.plans VALUES ('a', 1.5, now()), ('b', 2, now())"
    )
    path = _init_pg(tmp_path, source, destination)
    assert load_workspace(path).flows["plans"].cursor is None
    assert "no updated_at-like column, so each interval reads the whole table" in _said(path)
    _ok("tables", "-w", str(path), "--create")
    _ok("run", "-w", str(path), "--once")
    assert _rows(destination, "plans", "code") == _rows(source, "plans", "code")
    _sql(f"UPDATE {source}.plans SET price = 3 WHERE code = 'b'")
    _ok("run", "-w", str(path), "--once")
    assert _rows(destination, "plans", "code") == _rows(source, "plans", "code")


def test_a_cursor_without_an_index_is_kept_with_the_index_to_create(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """modified_at with no index is still the cursor, and the comment gives the CREATE INDEX."""
    source, destination = schemas
    _sql(
        f"CREATE TABLE {source}.notes (id int PRIMARY KEY, modified_at timestamp, updated_by text)"
    )
    path = _init_pg(tmp_path, source, destination)
    assert load_workspace(path).flows["notes"].cursor == "modified_at"
    assert f'CREATE INDEX ON "{source}"."notes" ("modified_at", "id")' in _said(path)


def test_an_existing_workspace_is_refused_without_force(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """init never overwrites syncwell.yaml unless --force says so."""
    source, destination = schemas
    _sql(f"CREATE TABLE {source}.items (id int PRIMARY KEY)")
    path = tmp_path / "syncwell.yaml"
    path.write_text("# mine\n")
    args = ["init", "--from", PG_DSN, "--schema", source, "--to", PG_DSN, "--to-schema",
            destination, "-w", str(path)]  # fmt: skip
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2
    assert "exists already; pass --force" in refused.output
    assert path.read_text() == "# mine\n"
    _ok(*args, "--force")
    assert "items" in load_workspace(path).flows


def test_tables_lists_only_the_ones_asked_and_unknown_ones_are_refused(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """--tables picks tables; a misspelt one is an error that names the closest."""
    source, destination = schemas
    _sql(
        f"CREATE TABLE {source}.orders (id int PRIMARY KEY);"
        f"CREATE TABLE {source}.users (id int PRIMARY KEY)"
    )
    path = _init_pg(tmp_path, source, destination, "--tables", "orders")
    assert list(load_workspace(path).flows) == ["orders"]
    result = runner.invoke(app, ["init", "--from", PG_DSN, "--schema", source, "--to", PG_DSN,
                                 "--to-schema", destination, "-w", str(tmp_path / "b.yaml"),
                                 "--tables", "order"])  # fmt: skip
    assert result.exit_code == 2
    assert "did you mean 'orders'?" in result.output
    assert not (tmp_path / "b.yaml").exists()


def test_a_password_is_never_written_to_the_file(tmp_path: Path) -> None:
    """A DSN's password becomes a ${VAR} the file reads; the output says which to export."""
    with sqlite3.connect(tmp_path / "copy.db"):
        pass
    from syncwell.workspace.init_dsn import parse_dsn

    database = parse_dsn(
        "postgresql://sync:s3cret@db.example:5432/app", schema="public", folder=tmp_path,
        role="source",
    )  # fmt: skip
    assert database.draft.settings["dsn"] == "postgresql://sync:${APP_PASSWORD}@db.example:5432/app"
    assert database.secret == "APP_PASSWORD" and "s3cret" in database.connect


def test_a_missing_destination_is_asked_for_or_refused(tmp_path: Path) -> None:
    """Without --to and without a terminal, init says to give --to."""
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    result = runner.invoke(
        app, ["init", "--from", str(tmp_path / "app.db"), "-w", str(tmp_path / "s.yaml")]
    )
    assert result.exit_code == 2
    assert "give --to DSN" in result.output


def test_the_http_skeleton_passes_check_and_marks_its_guesses(tmp_path: Path) -> None:
    """--http writes a skeleton that check accepts, each guess marked EDIT:, no secret needed."""
    path = tmp_path / "syncwell.yaml"
    _ok("init", "--http", "https://api.crm.example", "-w", str(path))
    text = path.read_text()
    assert text.count("EDIT") >= 8
    loaded = load_workspace(path)
    assert loaded.systems["crm"].settings.kind == "http"
    assert loaded.flows["items"].destination == "crm_copy"
    checked = _ok("check", "-w", str(path))
    assert "warning" not in checked
    document = yaml.safe_load(text)
    assert document["systems"]["crm"]["streams"]["items"]["read"]["path"] == "/items"
    untyped = runner.invoke(app, ["tables", "-w", str(path)])
    assert untyped.exit_code == 1
    assert "no catalog to take types from" in untyped.output


def test_a_postgres_table_syncs_to_sqlite_with_the_mapped_types(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """PostgreSQL to SQLite: tables --json says what it made, and every row arrives whole."""
    source, _ = schemas
    _sql(SOURCE_TABLE.format(schema=source))
    path = tmp_path / "syncwell.yaml"
    copy_dsn = f"sqlite:///{tmp_path / 'copy.db'}"
    _ok("init", "--from", PG_DSN, "--schema", source, "--to", copy_dsn, "-w", str(path))
    made = json.loads(_ok("tables", "-w", str(path), "--create", "--json"))
    assert [(table["flow"], table["state"]) for table in made] == [("leads", "created")]
    assert '"profile" TEXT' in made[0]["statement"] and '"visits" INTEGER' in made[0]["statement"]
    _ok("run", "-w", str(path), "--once")
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        rows = copy.execute("SELECT id, amount, tags, profile FROM leads ORDER BY id").fetchall()
    assert len(rows) == 300
    assert rows[7][:3] == (8, "9.000", '["a", "b8"]')  # numeric kept to its last digit
    assert json.loads(rows[7][3]) == {"n": 8, "x": [1, 2]}


def test_a_type_of_the_source_database_is_copied_as_text(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """An enum of the source's own is created as text in the destination, and its values sync."""
    source, destination = schemas
    _sql(
        f"CREATE TYPE {source}.mood AS ENUM ('calm', 'busy');"
        f"CREATE TABLE {source}.desks (id int PRIMARY KEY, mood {source}.mood);"
        f"INSERT INTO {source}.desks VALUES (1, 'calm'), (2, 'busy')"
    )
    path = _init_pg(tmp_path, source, destination)
    printed = _ok("tables", "-w", str(path), "--create")
    assert f'"mood" text,  -- {source}.mood in the source: a type of its own' in printed
    _ok("run", "-w", str(path), "--once")
    assert _rows(destination, "desks") == _rows(source, "desks")


def test_table_names_that_are_no_flow_names_still_make_a_valid_workspace(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """Tables called "order items" and order_items get a flow each, and both sync."""
    source, destination = schemas
    _sql(
        f'CREATE TABLE {source}."order items" ("Id" int PRIMARY KEY, "Note" text);'
        f"CREATE TABLE {source}.order_items (id int PRIMARY KEY);"
        f'INSERT INTO {source}."order items" VALUES (1, $$a note$$)'
    )
    path = _init_pg(tmp_path, source, destination, "--json")
    flows = load_workspace(path).flows
    assert {name: flow.stream for name, flow in flows.items()} == {
        "order_items": "order items",
        "order_items_2": "order_items",
    }
    _ok("tables", "-w", str(path), "--create")
    _ok("run", "-w", str(path), "--once")
    query = f'SELECT to_jsonb(t)::text FROM {destination}."order items" t'
    assert [row[0] for row in _sql(query)] == ['{"Id": 1, "Note": "a note"}']


TUTORIAL = Path(__file__).resolve().parent.parent / "docs" / "tutorial.md"


def _tutorial_blocks(source: str, destination: str) -> list[tuple[str, str]]:
    """Section 7 of the tutorial as (language, text) blocks, on this test's own schemas."""
    text = TUTORIAL.read_text()
    section = text.split("## 7. Start on your own data", 1)[1].split("\n## ", 1)[0]
    section = section.replace("shop_copy", destination).replace("shop", source)
    # The fence's first word is the language; more words (`sh illustrative`) are marks.
    return re.findall(r"```(\w*)[^\n]*\n(.*?)```", section, re.DOTALL)


def test_the_tutorial_start_on_your_own_data_runs_as_written(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """Section 7's commands, typed into a shell, print what it shows and copy the 10,000 rows."""
    source, destination = schemas
    _sql(f"DROP SCHEMA {source}")  # the tutorial's first command makes it
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {**os.environ, "PATH": "/usr/bin:/bin", "COLUMNS": "80", "TERM": "dumb"}
    shown: list[str] = []
    for language, block in _tutorial_blocks(source, destination):
        if language != "sh":
            shown.append(block)
            continue
        done = subprocess.run(
            ["bash", "-e", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        shown.append(done.stdout)
    # Blocks alternate: a command, then what it shows (the YAML: what the file holds).
    _setup, init, init_shown, excerpt, tables, tables_shown, run = shown
    assert _lines(init) == _lines(init_shown)
    assert excerpt in (tmp_path / "mine" / "syncwell.yaml").read_text()
    assert _lines(tables) == _lines(tables_shown)
    assert " 10000\n" in run
    assert _rows(destination, "orders") == _rows(source, "orders")


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()]


def test_a_database_out_of_reach_is_one_line_with_the_fix(tmp_path: Path) -> None:
    """A --from nobody answers at is exit 1 with what failed and what to check: no traceback."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dsn = f"postgresql://postgres@127.0.0.1:{port}/test"
    result = runner.invoke(
        app, ["init", "--from", dsn, "--to", PG_DSN, "-w", str(tmp_path / "s.yaml")]
    )
    assert result.exit_code == 1
    assert "cannot read the tables of --from" in result.output
    assert "check the DSN's host, port" in result.output.replace("\n", " ")
    assert "Traceback" not in result.output
    assert not (tmp_path / "s.yaml").exists()


def test_a_sqlite_table_syncs_to_postgres_in_the_types_its_affinity_holds(
    tmp_path: Path, schemas: tuple[str, str]
) -> None:
    """SQLite to PostgreSQL: INTEGER becomes bigint, REAL double precision, a DATETIME text."""
    _, destination = schemas
    with sqlite3.connect(tmp_path / "app.db") as db:
        db.executescript(
            "CREATE TABLE readings (id INTEGER PRIMARY KEY, place VARCHAR(20), value REAL,"
            " taken DATETIME, modified_at DATETIME);"
            "INSERT INTO readings VALUES (1, 'north', 1.5, '2026-01-01 10:00:00', "
            "'2026-01-01 10:00:00'), (2, 'south', -2.25, NULL, '2026-01-02 10:00:00');"
        )
    path = tmp_path / "syncwell.yaml"
    _ok("init", "--from", str(tmp_path / "app.db"), "--to", PG_DSN, "--to-schema", destination,
        "-w", str(path))  # fmt: skip
    assert load_workspace(path).flows["readings"].cursor == "modified_at"
    printed = _ok("tables", "-w", str(path), "--create")
    assert '"value" double precision' in printed and '"id" bigint NOT NULL' in printed
    assert '"taken" text,  -- DATETIME in the source: SQLite keeps it as text' in printed
    _ok("run", "-w", str(path), "--once")
    rows = _sql(f"SELECT id, place, value, taken FROM {destination}.readings ORDER BY id")
    assert [tuple(row) for row in rows] == [
        (1, "north", 1.5, "2026-01-01 10:00:00"),
        (2, "south", -2.25, None),
    ]
