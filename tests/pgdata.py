"""CRM-like tables in PostgreSQL for tests: create, fill, change, compare."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tests.conftest import PG_DSN

CONTACTS = """
CREATE TABLE {schema}.{table} (
    id bigint PRIMARY KEY,
    email text {email_null},
    name text,
    stage text,
    score integer,
    tags text[],
    properties jsonb,
    updated_at timestamptz NOT NULL
)
"""


async def create_contacts(
    connection: asyncpg.Connection, schema: str, table: str, *, email_required: bool = False
) -> None:
    """An empty contacts table (email NOT NULL when required, like a strict core system)."""
    email_null = "NOT NULL" if email_required else ""
    await connection.execute(CONTACTS.format(schema=schema, table=table, email_null=email_null))
    await connection.execute(f"CREATE INDEX ON {schema}.{table} (updated_at, id)")


async def fill_contacts(
    connection: asyncpg.Connection, schema: str, table: str, rows: int, *, start: int = 1
) -> None:
    """`rows` contacts with ids from `start`, ten seconds apart, a month ago onwards."""
    await connection.execute(
        f"""
        INSERT INTO {schema}.{table}
        SELECT g, 'user' || g || '@example.com', 'Name ' || g,
               (ARRAY['lead','qualified','customer'])[1 + g % 3], g % 100,
               ARRAY['t' || g % 7, 'x'],
               jsonb_build_object('plan', 'p' || g % 5, 'seats', g % 40, 'source', 'web'),
               now() - interval '30 days' + g * interval '10 seconds'
        FROM generate_series($1::bigint, $2::bigint) g
        """,
        start,
        start + rows - 1,
    )


async def checksum(connection: asyncpg.Connection, schema: str, table: str) -> tuple[int, str]:
    """Row count and an md5 over every column of every row, in key order."""
    row = await connection.fetchrow(
        f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) "
        f"FROM {schema}.{table} t"
    )
    assert row is not None
    return int(row[0]), str(row[1])


def write_workspace(
    folder: Path,
    schema: str,
    *,
    source: str = "src",
    target: str = "dst",
    dest_dsn: str = PG_DSN,
    flow_extra: str = "",
    dest_extra: str = "",
) -> Path:
    """A postgres -> postgres workspace moving `source` into `target` within `schema`."""
    path = folder / "syncwell.yaml"
    path.write_text(
        f"""
name: test
systems:
  source_db:
    kind: postgres
    dsn: {PG_DSN}
    schema: {schema}
  dest_db:
    kind: postgres
    dsn: {dest_dsn}
    schema: {schema}
{dest_extra}
flows:
  contacts:
    source: source_db
    destination: dest_db
    stream: {source}
    target: {target}
    key: id
    cursor: updated_at
    interval: 1s
    lookback: 5m
    batch_size: 2000
{flow_extra}
"""
    )
    return path


async def contacts_pair(connection: asyncpg.Connection, schema: str, rows: int) -> None:
    """A source table `src` with `rows` contacts and an empty destination `dst`."""
    await create_contacts(connection, schema, "src")
    await create_contacts(connection, schema, "dst")
    await fill_contacts(connection, schema, "src", rows)
