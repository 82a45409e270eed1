"""What `syncwell check` warns about how an http stream is written: create-then-409 against
a tool that may assign its own ids, and ids kept with no way to look a record up."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwell.workspace import parse_workspace, workspace_warnings

WORKSPACE = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  tool:
    kind: http
    base_url: https://tool.example
    streams:
      issues:
        write:
{write}
flows:
  issues:
    source: core
    destination: tool
    stream: tasks
    target: issues
    key: id
"""
CREATE_UPDATE = """\
          create: {path: /issues}
          update: {path: "/issues/{id}"}
"""
IDS = """\
          ids: {field: id}
          create: {path: /issues}
          update: {path: "/issues/{id}"}
"""


def _warnings(tmp_path: Path, write: str) -> list[str]:
    workspace = parse_workspace(WORKSPACE.format(write=write), "syncwell.yaml", tmp_path)
    found = workspace_warnings(workspace)
    return [w.message for w in found if w.where == "systems.tool.streams.issues.write"]


@pytest.mark.parametrize(
    ("write", "words"),
    [
        (CREATE_UPDATE, "every edit would make a duplicate"),
        (IDS, "no write.find and no write.idempotency_header"),
    ],
)
def test_writes_that_can_duplicate_or_leave_doubt_are_warned_about(
    tmp_path: Path, write: str, words: str
) -> None:
    """Each pattern gets one warning that says what goes wrong and the fix."""
    found = _warnings(tmp_path, write)
    assert len(found) == 1 and words in found[0]


@pytest.mark.parametrize(
    "write",
    [
        "          upsert: {path: '/issues/{id}', method: PUT}\n",
        IDS + "          idempotency_header: Idempotency-Key\n",
        IDS + "          find: {path: /issues, params: {s: '{{record.s}}'}, by: s}\n",
    ],
    ids=["upsert", "idempotency", "find"],
)
def test_sound_writes_are_not_warned_about(tmp_path: Path, write: str) -> None:
    """An upsert, or ids with a lookup or an idempotency key: no warning."""
    assert _warnings(tmp_path, write) == []
