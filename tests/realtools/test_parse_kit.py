"""The conformance kit's destination checks against a real Parse Server: objects whose ids
Parse assigns, found by email or not, and a field Parse takes with 200 and never stores."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest

from syncwell import load_workspace
from syncwell.testing import (
    DestinationCheck,
    DestinationOptions,
    assert_conformant,
    check_destination,
)
from tests.realtools.conftest import ParseServer

WORKSPACE = """
name: parse-kit
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  parse:
    kind: http
    base_url: {url}
    headers: {{X-Parse-Application-Id: {app_id}}}
    auth: {{type: api_key, header: X-Parse-Master-Key, key: {master_key}}}
    retry: {{max_attempts: 2, base_s: 0.2}}
    streams:
      contacts:
        read:
          path: /classes/{cls}
          params: {{order: objectId}}
          records: results
          pagination: {{style: offset, offset_param: skip, limit_param: limit, page_size: 10}}
        write:
          ids: {{field: objectId}}
          create: {{path: /classes/{cls}{body}}}
          update: {{method: PUT, path: "/classes/{cls}/{{objectId}}"{body}}}
          delete: {{path: "/classes/{cls}/{{objectId}}"}}
{find}
flows:
  out:
    source: core
    destination: parse
    stream: contacts
    key: id
    cursor: version
    fields: {{id: coreId, email: email, name: name, version: version{more}}}
"""
FIND = (
    "          find: {path: /classes/CLS, params: {where: {email: '{{record.email}}'}},"
    " records: results, by: email}"
)
# Parse sets createdAt itself: sent as a Parse Date it answers 200 and keeps its own.
WITH_CREATED_AT = (
    ', body: {coreId: "{{record.coreId}}", email: "{{record.email}}", name: "{{record.name}}",'
    ' version: "{{record.version}}", createdAt: {__type: Date, iso: "{{record.createdAt}}"}}'
)


class Contacts:
    """The core's contacts as the kit writes them; Parse refuses a number for a text field."""

    def __init__(self, created: bool = False) -> None:
        self.created = created

    def record(self, number: int, version: int) -> Mapping[str, object]:
        record: dict[str, object] = {
            "id": number + 1,
            "email": f"kit{number}@parse.example",
            "name": f"Kit {number} v{version}",
            "version": version,
        }
        if self.created:
            record["signed_up"] = f"2020-01-0{number % 9 + 1}T00:00:00.000Z"
        return record

    def refused(self) -> Mapping[str, object] | None:
        # The class's `name` is a String once the first objects hold one: Parse answers 400.
        return {"id": 1000, "email": "refused@parse.example", "name": 12345, "version": 1}


def _workspace(
    root: Path, server: ParseServer, *, find: bool, created: bool = False
) -> tuple[Path, str]:
    """The workspace, and the new Parse class its stream writes."""
    cls = f"Kit_{uuid.uuid4().hex[:8]}"
    path = root / "syncwell.yaml"
    path.write_text(
        WORKSPACE.format(
            url=server.url,
            app_id=server.app_id,
            master_key=server.master_key,
            cls=cls,
            body=WITH_CREATED_AT if created else "",
            find=FIND.replace("CLS", cls) if find else "",
            more=", signed_up: createdAt" if created else "",
        )
    )
    return path, cls


@pytest.mark.parametrize("find", [True, False], ids=["find", "no-find"])
async def test_parse_keeps_every_destination_promise(
    tmp_path: Path, parse_server: ParseServer, find: bool
) -> None:
    """Every destination check passes against Parse: one object per record with its own
    objectId, none made twice (a rewrite, a lost create found by email or refused with the
    reason), Parse's 400 for a number in a text field names the record, its 404 for an
    object deleted there is a RecordMissingError, and deletes of what is gone succeed."""
    path, _ = _workspace(tmp_path, parse_server, find=find)
    report = await check_destination(load_workspace(path), "out", Contacts())
    print(report)  # what each check saw, shown with -s or -rA
    assert_conformant(report, required=list(DestinationCheck))
    lost = report.result(DestinationCheck.LOST_ID).detail
    assert ("found the record" if find else "refused with RecordRejectedError") in lost
    assert "schema mismatch" in report.result(DestinationCheck.REFUSED).detail
    assert "RecordMissingError names '2'" in report.result(DestinationCheck.MISSING).detail


async def test_a_field_parse_takes_and_never_stores_fails_the_write_check(
    tmp_path: Path, parse_server: ParseServer
) -> None:
    """`createdAt` sent as a Parse Date: Parse answers 200 to the create and the update and
    keeps its own time, so the kit's read-back finds every other field as sent and this one
    not: the write check fails, naming it."""
    path, cls = _workspace(tmp_path, parse_server, find=True, created=True)
    options = DestinationOptions(checks=frozenset({DestinationCheck.WRITE}))
    report = await check_destination(load_workspace(path), "out", Contacts(created=True), options)
    print(report)
    write = report.result(DestinationCheck.WRITE)
    assert write.outcome == "failed"
    assert "createdAt was sent as '2020-01-01T00:00:00.000Z' and reads back as '20" in write.detail
    assert "email" not in write.detail and "name was" not in write.detail
    async with httpx.AsyncClient(timeout=30) as client:
        left = await client.get(
            f"{parse_server.url}/classes/{cls}",
            headers={
                "X-Parse-Application-Id": parse_server.app_id,
                "X-Parse-Master-Key": parse_server.master_key,
            },
        )
    assert left.json()["results"] == []  # the kit deleted what it wrote, though it failed
