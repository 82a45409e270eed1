"""What `syncwell check` says of a flow whose first sync cannot compare with its destination:
it would write every record the source holds, equal or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwell.workspace import parse_workspace, workspace_warnings

WORKSPACE = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  copy: {{kind: sqlite, path: copy.db}}
  hooks:
    kind: webhook_out
    url: https://hooks.example/in
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  tool:
    kind: http
    base_url: https://tool.example
    streams:
      items:
{read}
        write:
{write}
flows:
  out:
    source: core
    destination: {destination}
    stream: items
    key: id
    deletes: {{detect: none}}
"""

UPSERT = "          upsert: {path: '/items/{id}', method: PUT}"
IDS = (
    "          ids: {field: uid}\n"
    "          create: {path: /items}\n"
    "          update: {path: '/items/{uid}'}"
)
FIND = "\n          find: {path: /items, params: {email: '{{record.email}}'}, by: email}"
READ = "        read: {path: /items, records: data}"


def _said(tmp_path: Path, *, read: str = READ, write: str = UPSERT, to: str = "tool") -> list[str]:
    text = WORKSPACE.format(read=read, write=write, destination=to)
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path)
    return [w.message for w in workspace_warnings(workspace) if w.where == "flows.out"]


@pytest.mark.parametrize(
    ("read", "write", "why"),
    [
        ("", UPSERT, "has no `read:`"),
        (READ, IDS, "add streams.items.write.find"),
    ],
    ids=["no-read", "ids-without-find"],
)
def test_a_tool_that_cannot_be_compared_is_warned_about(
    tmp_path: Path, read: str, write: str, why: str
) -> None:
    """No listing, or ids the tool assigns and no natural key: the warning says the first sync
    writes every record, why, and the fix."""
    (found,) = [w for w in _said(tmp_path, read=read, write=write) if "first sync" in w]
    assert "writes every record the source holds" in found and why in found


@pytest.mark.parametrize(
    ("write", "to"),
    [(UPSERT, "tool"), (IDS + FIND, "tool"), (UPSERT, "copy"), (UPSERT, "hooks")],
    ids=["listed-by-key", "ids-with-find", "table", "webhooks"],
)
def test_destinations_that_compare_or_take_events_are_not_warned_about(
    tmp_path: Path, write: str, to: str
) -> None:
    """A readable tool, a tool with ids and `find.by`, a table, a webhook receiver (sent
    events, it holds nothing to compare): no first-sync warning."""
    assert not [w for w in _said(tmp_path, write=write, to=to) if "first sync" in w]
