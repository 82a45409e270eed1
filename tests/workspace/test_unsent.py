"""`read_only:` and `write_fields:` on a flow, and which columns a destination is never sent
by default: names checked at load with the fix, in the destination's names or the source's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from syncwell.workspace import Workspace, parse_workspace
from syncwell.workspace.unsent import Unsent, unsent_of

from .conftest import Problems

WORKSPACE = """
core: core
systems:
  core: {kind: sqlite, path: core.db}
  tool:
    kind: http
    base_url: https://tool.example
    streams:
      tasks:
        read: {path: /tasks}
        write:
          update: {path: "/projects/{project}/tasks/{id}"}
flows:
  tasks_out:
    source: core
    destination: tool
    stream: tasks
    key: id
    cursor: updated_at
    fields: {id: id, project_id: project, title: Title, created_at: CreatedAt,
             updated_at: UpdatedAt, status: Status}
    deletes: {detect: none}
"""

REVERSE = """
  tasks_in:
    source: tool
    destination: core
    stream: tasks
    key: id
    cursor: UpdatedAt
    fields: {id: id, project: project_id, Title: title, CreatedAt: created_at,
             UpdatedAt: updated_at, Status: status}
    deletes: {detect: none}
"""


def _load(tmp_path: Path, flow: str = "", extra: str = "") -> Workspace:
    text = WORKSPACE + textwrap.indent(textwrap.dedent(flow), "    ") + extra
    return parse_workspace(text, "syncwell.yaml", tmp_path, env={})


def _sent(workspace: Workspace, flow: str = "tasks_out") -> list[str]:
    unsent = unsent_of(workspace.flows[flow], workspace)
    return [column for column in workspace.flows[flow].fields.values() if unsent.sent(column)]


def test_a_tool_is_not_sent_its_own_cursor_or_created_at_by_default(tmp_path: Path) -> None:
    """With the reverse flow reading the tool by `UpdatedAt`, neither it nor `CreatedAt` is
    sent; the rest is, the key and the path's `project` included."""
    assert _sent(_load(tmp_path, extra=REVERSE)) == ["id", "project", "Title", "Status"]


def test_without_a_reverse_flow_only_the_created_at_is_left_out(tmp_path: Path) -> None:
    """Nothing says which column is the tool's cursor: `UpdatedAt` goes (check warns)."""
    assert _sent(_load(tmp_path)) == ["id", "project", "Title", "UpdatedAt", "Status"]


@pytest.mark.parametrize("name", ["Status", "status"], ids=["destination", "source"])
def test_read_only_takes_the_destination_name_or_the_source_name(tmp_path: Path, name: str) -> None:
    """`Status` (the tool's name) and `status` (the core's, renamed by fields) mean one
    column; it is left out, in the destination's name."""
    workspace = _load(tmp_path, f"read_only: {name}\n")
    assert workspace.flows["tasks_out"].read_only == (name,)
    assert "Status" not in _sent(workspace)
    assert unsent_of(workspace.flows["tasks_out"], workspace).read_only == {"Status"}


def test_write_fields_sends_only_its_columns_and_what_the_write_needs(tmp_path: Path) -> None:
    """Only `Title` and (named, so sent despite the default) `CreatedAt`, plus the key and the
    path's `project`, which the write cannot do without."""
    workspace = _load(tmp_path, "write_fields: [title, CreatedAt]\n", extra=REVERSE)
    assert _sent(workspace) == ["id", "project", "Title", "CreatedAt"]


def test_a_database_destination_is_sent_everything_by_default(tmp_path: Path) -> None:
    """The core (sqlite) is sent the tool's cursor and created-at: its merge sets columns by
    name, and the version guard in it needs `updated_at`."""
    workspace = _load(tmp_path, extra=REVERSE)
    assert unsent_of(workspace.flows["tasks_in"], workspace) == Unsent(
        needed=frozenset({"id", "updated_at"})
    )


def test_a_name_the_flow_does_not_move_is_refused_with_its_columns(problems: Problems) -> None:
    """A misspelt column: the error is at the name, lists the flow's columns, and says both
    names are taken."""
    found = problems(WORKSPACE + "    read_only: [Title, CreatdAt]\n")
    assert len(found) == 1
    assert found[0].key == "flows.tasks_out.read_only[1]"
    assert found[0].line is not None
    assert "read_only names 'CreatdAt', a column this flow does not move" in str(found[0])
    assert "'CreatedAt'" in str(found[0]) and "source column" in str(found[0])


@pytest.mark.parametrize(
    ("flow", "said"),
    [
        ("read_only: [id]\n", "which is the key"),
        ("read_only: [project_id]\n", "which fills write.update's path"),
    ],
    ids=["key", "path"],
)
def test_read_only_cannot_take_what_the_write_needs(
    problems: Problems, flow: str, said: str
) -> None:
    """The key finds the record and `project` fills the path: each is refused with why."""
    found = problems(WORKSPACE + textwrap.indent(flow, "    "))
    assert [error.key for error in found] == ["flows.tasks_out.read_only[0]"]
    assert said in str(found[0]) and "remove it from read_only" in str(found[0])


def test_a_database_destinations_version_cannot_be_read_only(problems: Problems) -> None:
    """The core's merge compares `updated_at`: leaving it out is refused at load."""
    found = problems(WORKSPACE + REVERSE + "    read_only: [updated_at]\n")
    assert [error.key for error in found] == ["flows.tasks_in.read_only[0]"]
    assert "version column: a sqlite destination's merge compares it" in str(found[0])


def test_a_column_in_both_lists_is_refused(problems: Problems) -> None:
    """Never sent and sent at once cannot both hold."""
    found = problems(WORKSPACE + "    read_only: [Title]\n    write_fields: [title, Status]\n")
    assert [error.key for error in found] == ["flows.tasks_out.read_only[0]"]
    assert "in both read_only (never sent) and write_fields (sent)" in str(found[0])


def test_without_fields_any_name_is_taken(tmp_path: Path) -> None:
    """A flow that moves every column cannot know them at load: names are taken as given,
    and the created-at default still applies when the batch's columns are seen."""
    text = WORKSPACE.split("    fields:")[0] + "    read_only: Secret\n"
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path, env={})
    unsent = unsent_of(workspace.flows["tasks_out"], workspace)
    assert not unsent.sent("Secret") and not unsent.sent("created_at")
    assert unsent.sent("anything_else")
