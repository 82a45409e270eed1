"""syncwell against a real GNU Mailman 3 (PyPI, REST API with basic auth): list members have
no change timestamp and Mailman keeps no tombstones — the cursorless case, into PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from syncwell import load_workspace
from syncwell.testing import Check, ConformanceOptions, assert_conformant, check_source
from tests.conftest import PG_DSN
from tests.realtools.conftest import Mailman

SEEDED = 30

WORKSPACE = """
name: mailman-test
core: core
systems:
  core: {{kind: postgres, dsn: "{dsn}", schema: {schema}}}
  mailman:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: {user}, password: {password}}}
    retry: {{max_attempts: 2, base_s: 0.2}}
    streams:
      members:
        read:
          path: /lists/{list_id}/roster/member
          records: entries
          total: total_size
          pagination: {{style: page, page_param: page, size_param: count, page_size: 12}}
flows:
  members:
    source: mailman
    destination: core
    stream: members
    key: member_id
    fields: [member_id, email, display_name, delivery_mode]
"""


class MailmanMembers:
    """The members of one mailing list, changed through Mailman's REST API."""

    def __init__(self, server: Mailman, client: httpx.AsyncClient, list_id: str) -> None:
        self.server, self.client, self.list_id = server, client, list_id
        self.made = 0
        self.modes: dict[str, str] = {}

    async def insert(self) -> str:
        self.made += 1
        answer = await self.client.post(
            f"{self.server.url}/members",
            data={
                "list_id": self.list_id,
                "subscriber": f"member{self.made}@{self.list_id}",
                "display_name": f"Member {self.made}",
                "pre_verified": "true",
                "pre_confirmed": "true",
                "pre_approved": "true",
            },
        )
        assert answer.status_code == 201, answer.text
        return answer.headers["location"].rsplit("/", 1)[-1]

    async def edit(self, key: str) -> None:
        mode = "plaintext_digests" if self.modes.get(key) != "plaintext_digests" else "regular"
        answer = await self.client.patch(
            f"{self.server.url}/members/{key}", data={"delivery_mode": mode}
        )
        assert answer.status_code == 204, answer.text
        self.modes[key] = mode

    async def delete(self, key: str) -> None:
        answer = await self.client.delete(f"{self.server.url}/members/{key}")
        assert answer.status_code == 204, answer.text

    async def list_keys(self) -> set[str]:
        answer = await self.client.get(
            f"{self.server.url}/lists/{self.list_id}/roster/member",
            params={"count": 1000, "page": 1},
        )
        answer.raise_for_status()
        return {member["member_id"] for member in answer.json().get("entries", [])}


@pytest.fixture
async def members(mailman: Mailman) -> AsyncIterator[MailmanMembers]:
    """A new mailing list with 30 members (each test its own list)."""
    auth = (mailman.user, mailman.password)
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        domain = f"d{uuid.uuid4().hex[:8]}.example"
        answer = await client.post(f"{mailman.url}/domains", data={"mail_host": domain})
        assert answer.status_code == 201, answer.text
        answer = await client.post(f"{mailman.url}/lists", data={"fqdn_listname": f"news@{domain}"})
        assert answer.status_code == 201, answer.text
        tool = MailmanMembers(mailman, client, f"news.{domain}")
        for _ in range(SEEDED):
            await tool.insert()
        yield tool


async def test_members_without_a_timestamp_sync_every_edit_insert_and_delete(
    tmp_path: Path, mailman: Mailman, members: MailmanMembers, pg_schema: str
) -> None:
    """Members are read whole each time (no cursor): the full read equals Mailman's roster,
    a read with nothing changed journals nothing, and a member edited, subscribed and
    unsubscribed through Mailman's API arrives, each as one change, in PostgreSQL."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        await connection.execute(
            f"CREATE TABLE {pg_schema}.members (member_id text PRIMARY KEY, email text,"
            " display_name text, delivery_mode text)"
        )
    finally:
        await connection.close()
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            dsn=PG_DSN,
            schema=pg_schema,
            url=mailman.url,
            user=mailman.user,
            password=mailman.password,
            list_id=members.list_id,
        )
    )
    options = ConformanceOptions(pause_s=0.05)
    report = await check_source(load_workspace(path), "members", members, options)
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(
        report, required=[Check.FULL_READ, Check.IDLE_POLL, Check.EDIT, Check.INSERT, Check.DELETE]
    )
    assert report.result(Check.FILTER).outcome == "skipped"
    assert "journaled 2" in report.result(Check.EDIT).detail  # the edit and the insert only
    assert "journaled 1" in report.result(Check.DELETE).detail
