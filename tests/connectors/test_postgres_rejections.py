"""Records a PostgreSQL destination refuses in unusual ways are dead-lettered, never a stall."""

from __future__ import annotations

import asyncpg
import pytest

from syncwell.connectors import postgres
from syncwell.errors import RecordRejectedError
from syncwell.types import ChangeBatch, StreamSpec
from tests.conftest import PG_DSN

SPEC = StreamSpec("t", ("id",), ("id", "n", "v"), version="v")


@pytest.fixture
async def destination(pg: asyncpg.Connection, pg_schema: str) -> postgres.PostgresDestination:
    await pg.execute(f"CREATE TABLE {pg_schema}.t (id int PRIMARY KEY, n int, v int)")
    await pg.execute(
        f"""
        CREATE FUNCTION {pg_schema}.no_sevens() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.n = 7 THEN RAISE EXCEPTION 'sevens are refused'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER no_sevens BEFORE INSERT ON {pg_schema}.t
        FOR EACH ROW EXECUTE FUNCTION {pg_schema}.no_sevens();
        """
    )
    settings = postgres.Settings(kind="postgres", dsn=PG_DSN, schema=pg_schema)
    return await postgres.open_destination("core", settings)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ((1, 7, 1), "sevens are refused"),  # the destination's own trigger (P0001)
        ((1, "seven", 1), "str"),  # a value the column's type cannot hold (encoding)
        ((1, 2**40, 1), "int32 range"),  # an int past int32
    ],
)
async def test_refusals_are_record_rejections(
    destination: postgres.PostgresDestination, row: tuple[object, ...], reason: str
) -> None:
    """Each refusal raises RecordRejectedError (dead-letter and go on), with the reason."""
    try:
        with pytest.raises(RecordRejectedError) as caught:
            await destination.write(SPEC, ChangeBatch(SPEC.columns, [row]))
        assert reason in caught.value.reason
    finally:
        await destination.aclose()
