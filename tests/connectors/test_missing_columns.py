"""A source table without a configured column is refused, naming each missing column once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from syncwell.connectors import sqlite
from syncwell.errors import IntegrationFatalError
from syncwell.types import StreamSpec


async def test_a_missing_cursor_is_named_once_though_it_is_also_the_version(
    tmp_path: Path,
) -> None:
    """The cursor is the version by default and may be listed in fields too: one mention."""
    with sqlite3.connect(tmp_path / "s.db") as connection:
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
    source = await sqlite.open_source(
        "s", sqlite.Settings(kind="sqlite", path=str(tmp_path / "s.db"))
    )
    spec = StreamSpec("t", ("id",), ("id", "changed_at"), cursor="changed_at", version="changed_at")
    try:
        with pytest.raises(IntegrationFatalError) as raised:
            async for _ in source.read(spec, None):
                pass
    finally:
        await source.aclose()
    assert str(raised.value).count("changed_at") == 1, str(raised.value)
