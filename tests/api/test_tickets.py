"""Support tickets in the REST API and on an integration's page, in-process."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.engine.tickets import tickets_now
from syncwell.store import open_store
from syncwell.workspace import Workspace
from tests.api.dashkit import write_workspace

TICKETS = """
tickets:
  csv: tickets.csv
  integrations:
    tool: {match: "\\\\btool\\\\b|tasks"}
"""


def _iso(hours_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - hours_ago * 3600, UTC).isoformat()


@pytest.fixture
async def workspace(tmp_path: Path) -> Workspace:
    path = write_workspace(tmp_path)
    path.write_text(path.read_text() + TICKETS)
    rows = [
        f"1,{_iso(5)},{_iso(3)},tasks missing in the tool",
        f"2,{_iso(4)},,tool shows old tasks",
        f"3,{_iso(2)},,invoice question",
    ]
    (tmp_path / "tickets.csv").write_text("id,opened,closed,subject\n" + "\n".join(rows) + "\n")
    loaded = load_workspace(path)
    await tickets_now(loaded, window_s=86400)
    return loaded


async def _viewer(workspace: Workspace) -> dict[str, str]:
    store = await open_store(workspace.state)
    try:
        token = (await store.tokens.create("viewer", "a viewer"))[1]
    finally:
        await store.close()
    return {"authorization": f"Bearer {token}"}


async def test_the_api_and_the_page_show_an_integrations_tickets(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """GET /api/v1/tickets counts per integration (the tool's two, one unattributed), and the
    tool's page shows its two opened, one still open, resolved in 2h; the warehouse's page
    says none is attributed to it."""
    headers = await _viewer(workspace)
    answer = await client.get("/api/v1/tickets", headers=headers)
    assert answer.status_code == 200, answer.text
    rows = {row["integration"]: row for row in answer.json()}
    assert (rows["tool"]["opened"], rows["tool"]["still_open"]) == (2, 1)
    assert rows["(unattributed)"]["opened"] == 1
    page = (await client.get("/integrations/tool", headers=headers)).text
    section = page[page.index('aria-label="Support tickets"') :]
    cells = section[: section.index("</table>")]
    assert '<td class="num">2</td><td class="num">1</td><td class="num">1</td><td>2h' in cells
    other = (await client.get("/integrations/warehouse", headers=headers)).text
    assert "None attributed to warehouse." in other
