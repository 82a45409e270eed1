"""What `syncwell check` warns about: flows that could miss deletes, or write a column the
tool sets itself, without an error."""

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
      items:
        read:
          path: /items
          records: data
          pagination: {{style: offset}}
{total}
flows:
  items:
    source: tool
    destination: core
    stream: items
    key: id
{flow}
"""


def _warnings(tmp_path: Path, flow: str, total: str = "") -> list[str]:
    text = WORKSPACE.format(flow=flow, total=total)
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path)
    return [f"{w.where}: {w.message}" for w in workspace_warnings(workspace)]


def test_a_cursor_flow_that_says_nothing_of_deletes_is_warned_about(tmp_path: Path) -> None:
    """By cursor and no `deletes:`: a warning with both ways to settle it."""
    found = _warnings(tmp_path, "    cursor: at\n")
    assert any("deletes in 'tool' are not seen" in w and "detect: scan" in w for w in found)
    assert _warnings(tmp_path, "    cursor: at\n    deletes: {detect: none}\n") == []


@pytest.mark.parametrize(
    "flow", ["", "    cursor: at\n    deletes: {detect: scan}\n"], ids=["no-cursor", "scan"]
)
def test_deletes_found_over_offset_pages_without_a_total_are_warned_about(
    tmp_path: Path, flow: str
) -> None:
    """A pass over offset pages with no `total` cannot tell a shifted or capped listing: a
    warning names the stream and the fix; with `total:` it goes."""
    found = _warnings(tmp_path, flow)
    assert [w for w in found if "systems.tool.streams.items.read" in w and "total" in w]
    assert _warnings(tmp_path, flow, total="          total: meta.total") == []


TOOL_WORKSPACE = """
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  tool:
    kind: http
    base_url: https://tool.example
    streams:
      tasks:
        read: {{path: /tasks}}
        write:
          upsert: {{path: "/tasks/{{id}}"}}
flows:
  tasks_out:
    source: core
    destination: tool
    stream: tasks
    key: id
    cursor: updated_at
    fields: {{id: id, title: Title, updated_at: UpdatedAt}}
    deletes: {{detect: none}}
{out}
{back}
"""

BACK = """
  tasks_in:
    source: tool
    destination: core
    stream: tasks
    key: id
    cursor: UpdatedAt
    fields: {id: id, Title: title, UpdatedAt: updated_at}
    deletes: {detect: none}
"""


def _cursor_warnings(tmp_path: Path, out: str = "", back: str = "") -> list[str]:
    text = TOOL_WORKSPACE.format(out=out, back=back)
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path, env={})
    return [w.message for w in workspace_warnings(workspace) if w.where == "flows.tasks_out"]


def test_a_write_carrying_what_looks_like_the_tools_updated_at_is_warned_about(
    tmp_path: Path,
) -> None:
    """One way, the core's cursor goes to the tool as `UpdatedAt`: check says the tool may
    refuse it and how to settle it either way; saying which way silences it."""
    found = _cursor_warnings(tmp_path)
    assert len(found) == 1
    assert "writes 'UpdatedAt' to 'tool'" in found[0] and "read_only: [UpdatedAt]" in found[0]
    assert _cursor_warnings(tmp_path, out="    read_only: [UpdatedAt]") == []
    assert _cursor_warnings(tmp_path, out="    write_fields: [Title, UpdatedAt]") == []


def test_a_write_carrying_the_cursor_a_reverse_flow_reads_is_warned_about(
    tmp_path: Path,
) -> None:
    """Two ways, the tool's cursor is known and left out by default (no warning); a
    `write_fields` that sends it anyway is warned about, naming the flow that reads by it."""
    assert _cursor_warnings(tmp_path, back=BACK) == []
    found = _cursor_warnings(tmp_path, out="    write_fields: [Title, UpdatedAt]", back=BACK)
    assert len(found) == 1
    assert "the cursor flow 'tasks_in' reads 'tool' by" in found[0]
    assert "take it out of `write_fields:`" in found[0]
