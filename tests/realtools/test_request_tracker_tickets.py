"""Support tickets from a real Request Tracker 5 (REST 2.0): read through an http system's
stream into syncwell's ticket table, attributed by subject and by queue, with their times to
resolve taken from RT's own `Created` and `Resolved`."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from syncwell import load_workspace
from syncwell.engine.tickets import tickets_now
from tests.realtools.conftest import RequestTracker

WORKSPACE = """
name: rt-tickets
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  crm: {{kind: sqlite, path: crm.db}}
  email: {{kind: sqlite, path: email.db}}
  helpdesk:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: {user}, password: {password}}}
    streams:
      tickets:
        read:
          path: /tickets
          params:
            query: "Queue = '{queue}' OR Queue = '{sales}'"
            fields: Subject,Status,Created,Resolved,Queue
            "fields[Queue]": Name
            orderby: id
          records: items
          pagination: {{style: page, page_param: page, size_param: per_page, page_size: 5}}
flows:
  contacts: {{source: crm, destination: core, stream: contacts, key: id, cursor: u}}
  news: {{source: core, destination: email, stream: people, key: id, cursor: u}}
tickets:
  system: helpdesk
  stream: tickets
  fields: {{id: id, opened: Created, closed: Resolved, tags: null, text: [Subject]}}
  integrations:
    email: {{match: "newsletter|mailchimp"}}
    crm: {{match: "\\\\bcrm\\\\b|hubspot", fields: {{Queue: "^{sales}$"}}}}
"""


async def _ticket(client: httpx.AsyncClient, url: str, queue: str, subject: str) -> str:
    answer = await client.post(f"{url}/ticket", json={"Queue": queue, "Subject": subject})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_rt_tickets_are_counted_per_integration_with_their_time_to_resolve(
    tmp_path: Path, request_tracker: RequestTracker
) -> None:
    """Three CRM tickets (two by subject, one by its queue's name), two newsletter tickets and
    one about nothing, two resolved in RT: the import (what `syncwell tickets` runs) reads all
    six through the http system's pages, attributes them, and gives the resolved ones a time
    to resolve; a second import counts them once."""
    queue, sales = f"q{uuid.uuid4().hex[:8]}", f"s{uuid.uuid4().hex[:8]}"
    auth = (request_tracker.user, request_tracker.password)
    url = request_tracker.url
    async with httpx.AsyncClient(auth=auth, timeout=30) as client:
        for name in (queue, sales):
            answer = await client.post(f"{url}/queue", json={"Name": name})
            assert answer.status_code == 201, answer.text
        crm = await _ticket(client, url, queue, "CRM contacts missing after import")
        await _ticket(client, url, queue, "HubSpot owner overwritten")
        await _ticket(client, url, sales, "lead stuck")
        news = await _ticket(client, url, queue, "Newsletter never sent")
        await _ticket(client, url, queue, "mailchimp list empty")
        await _ticket(client, url, queue, "password reset")
        for ticket in (crm, news):
            answer = await client.put(f"{url}/ticket/{ticket}", json={"Status": "resolved"})
            assert answer.status_code == 200, answer.text
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            url=url,
            user=request_tracker.user,
            password=request_tracker.password,
            queue=queue,
            sales=sales,
        )
    )
    workspace = load_workspace(path)
    for _ in range(2):
        done, found = await tickets_now(workspace, window_s=3600)
    assert done.read == 6 and done.skipped == ()
    counts = {row.integration: row for row in found}
    assert (counts["crm"].opened, counts["crm"].still_open) == (3, 2)
    assert (counts["email"].opened, counts["email"].still_open) == (2, 1)
    assert counts["(unattributed)"].opened == 1
    for name in ("crm", "email"):
        median = counts[name].median_resolve_s
        assert counts[name].resolved == 1 and median is not None and 0 <= median < 600
