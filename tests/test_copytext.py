"""PostgreSQL's own text COPY output parses back to exactly the values it holds."""

from __future__ import annotations

import asyncio

import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell import copytext
from tests.conftest import PG_DSN

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, st.none() | texts), min_size=1, max_size=8))
def test_copy_lines_parse_to_the_stored_values(rows: list[tuple[str, str | None]]) -> None:
    """Tabs, newlines, backslashes, NULLs and any Unicode survive COPY TO and parse_line."""

    async def roundtrip() -> list[tuple[str | None, ...]]:
        connection = await asyncpg.connect(PG_DSN)
        try:
            await connection.execute("CREATE TEMP TABLE t (n int, a text, b text)")
            await connection.executemany(
                "INSERT INTO t VALUES ($1, $2, $3)", [(i, a, b) for i, (a, b) in enumerate(rows)]
            )
            chunks: list[bytes] = []

            async def sink(chunk: bytes) -> None:
                chunks.append(chunk)

            await connection.copy_from_query(
                "SELECT a, b FROM t ORDER BY n", output=sink, format="text"
            )
        finally:
            await connection.close()
        data = b"".join(chunks)
        assert copytext.line_count(data) == len(rows)
        return [copytext.parse_line(line) for line in copytext.split_lines(data)]

    assert asyncio.run(roundtrip()) == rows


def test_selecting_and_joining_lines_keeps_records_whole() -> None:
    """Splitting a payload and joining some lines gives a payload of just those records."""
    data = b"1\ta\\nb\n2\t\\N\n3\tc\\td\n"
    lines = copytext.split_lines(data)
    assert copytext.join_lines([lines[0], lines[2]]) == b"1\ta\\nb\n3\tc\\td\n"
    assert [copytext.parse_line(line) for line in lines] == [
        ("1", "a\nb"),
        ("2", None),
        ("3", "c\td"),
    ]
