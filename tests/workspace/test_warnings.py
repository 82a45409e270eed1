"""What `syncwell check` warns about when a flow could miss deletes without an error."""

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
