"""A list server that keeps no change time and no tombstones (the sandbox email platform with
`change_times: false`, as Mailman's members are): a flow without a cursor passes every check
of the conformance kit — an edit, an insert and a delete all arrive, an idle poll journals
nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from syncwell import load_workspace
from syncwell.sandbox import EmailConfig, FaultSettings, Sandbox, SandboxConfig
from syncwell.testing import Check, ConformanceOptions, assert_conformant, check_source

KEY = "sandbox-email-key"
WORKSPACE = """
name: no-change-times
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  lists:
    kind: http
    base_url: {url}
    auth: {{type: api_key, header: X-Api-Key, key: {key}}}
    streams:
      members:
        read:
          path: /api/lists/main/members
          records: members
          total: total_items
          pagination: {{style: offset, offset_param: offset, limit_param: count, page_size: 25}}
flows:
  members:
    source: lists
    destination: core
    stream: members
    key: email
    fields: [email, first_name, status]
"""


class Members:
    """The list's members, changed through its own API."""

    def __init__(self, url: str, client: httpx.AsyncClient) -> None:
        self.url = f"{url}/api/lists/main/members"
        self.client = client
        self.made = 0

    async def insert(self) -> str:
        self.made += 1
        email = f"new{self.made}@lists.example"
        await self._write({"email": email, "first_name": "New", "status": "subscribed"})
        return email

    async def edit(self, key: str) -> None:
        self.made += 1
        await self._write({"email": key, "first_name": f"Edited {self.made}"})

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.url}/{key}")
        assert answer.status_code == 204, answer.text

    async def list_keys(self) -> set[str]:
        answer = await self.client.get(self.url, params={"count": 1000})
        return {member["email"] for member in answer.json()["members"]}

    async def _write(self, member: dict[str, str]) -> None:
        answer = await self.client.post(f"{self.url}:batch", json={"members": [member]})
        assert answer.status_code == 200 and not answer.json()["errors"], answer.text


def _config() -> SandboxConfig:
    quiet = FaultSettings()
    email = EmailConfig(port=0, members=60, visibility_delay_s=0, change_times=False, faults=quiet)
    return SandboxConfig(email=email)


async def test_a_list_without_change_times_passes_every_check_read_without_a_cursor(
    tmp_path: Path,
) -> None:
    """Every check passes: 60 members read whole, nothing journaled when idle, an edit, an
    insert and a delete each arrive (the delete found by its absence)."""
    with sqlite3.connect(tmp_path / "core.db") as core:
        core.execute(
            "CREATE TABLE members (email TEXT NOT NULL PRIMARY KEY, first_name TEXT, status TEXT)"
        )
    async with Sandbox(_config()) as endpoints, httpx.AsyncClient(headers={"X-Api-Key": KEY}) as c:
        path = tmp_path / "syncwell.yaml"
        path.write_text(WORKSPACE.format(url=endpoints.email_url, key=KEY))
        members = Members(endpoints.email_url, c)
        page = (await c.get(members.url, params={"count": 1000})).json()["members"]
        assert len(page) == 60 and not any("updated_at" in member for member in page)
        options = ConformanceOptions(pause_s=0.05, settle_s=0.1)
        report = await check_source(load_workspace(path), "members", members, options)
    required = [Check.FULL_READ, Check.IDLE_POLL, Check.EDIT, Check.INSERT, Check.DELETE]
    assert_conformant(report, required=required)
