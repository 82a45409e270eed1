"""Opening one SQLite state store from several places at once migrates it once, safely."""

from __future__ import annotations

import asyncio
from pathlib import Path

from syncwell.store import open_store


async def test_stores_opened_at_the_same_moment_all_come_up(tmp_path: Path) -> None:
    """Four opens race on a new file (a run starting while `status` looks): none fails."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    stores = await asyncio.gather(*(open_store(url) for _ in range(4)))
    for store in stores:
        assert await store.journal.backlog() == {}
        await store.close()
