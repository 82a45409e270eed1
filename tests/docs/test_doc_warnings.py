"""The warnings and errors the docs quote from `syncwell check` are the ones it gives, word for
word, for the case each describes (line breaks aside: the docs wrap them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from syncwell.workspace import parse_workspace, workspace_warnings
from syncwell.workspace.problems import WorkspaceProblems
from tests.docs.blocks import find_block
from tests.docs.workspaces import completed


def _warning(data: dict[str, Any], where: str, about: str, root: Path) -> str:
    """The warning `check` prints at `where` about `about` (how it starts) for `data`."""
    loaded = parse_workspace(yaml.safe_dump(completed(data)), "syncwell.yaml", root)
    found = [
        w for w in workspace_warnings(loaded) if w.where == where and w.message.startswith(about)
    ]
    assert len(found) == 1, [f"{w.where}: {w.message}" for w in workspace_warnings(loaded)]
    return f"warning {found[0].where}: {found[0].message}"


def _flows_of(doc: str, starts: str) -> dict[str, Any]:
    """The `flows:` of a YAML block of the docs."""
    flows = yaml.safe_load(find_block(doc, starts).text)["flows"]
    assert isinstance(flows, dict)
    return flows


def _same(printed: str, doc: str, starts: str) -> None:
    sample = find_block(doc, starts)
    assert printed.split() == sample.text.split(), (
        f"{sample.where} shows:\n{sample.text}syncwell check says:\n{printed}"
    )


def test_deletes_not_seen(tmp_path: Path) -> None:
    """workspace.md: the tasks flow of its example, without `deletes:`, is warned of so."""
    flows = _flows_of("docs/workspace.md", "flows:\n  tasks:\n    source: projects")
    del flows["tasks"]["deletes"]
    printed = _warning({"flows": {"tasks": flows["tasks"]}}, "flows.tasks", "deletes", tmp_path)
    _same(printed, "docs/workspace.md", "warning flows.tasks: deletes in")


def test_the_tools_own_updated_at(tmp_path: Path) -> None:
    """workspace.md: tasks_out of its example, without the reverse flow, sends UpdatedAt."""
    flows = _flows_of("docs/workspace.md", "flows:\n  tasks_out:")
    only = {"flows": {"tasks_out": flows["tasks_out"]}}
    printed = _warning(only, "flows.tasks_out", "writes 'UpdatedAt'", tmp_path)
    _same(printed, "docs/workspace.md", "warning flows.tasks_out: writes 'UpdatedAt'")


def test_a_first_sync_that_cannot_compare(tmp_path: Path) -> None:
    """first-sync.md: a tracker that assigns the ids of issues, with no `write.find`."""
    tracker = {
        "kind": "http",
        "base_url": "https://tracker.example",
        "streams": {
            "issues": {
                "read": {"path": "/issues.json", "records": "issues"},
                "write": {
                    "ids": {"field": "id", "answer": "issue.id"},
                    "create": {"path": "/issues.json"},
                    "update": {"path": "/issues/{id}.json", "method": "PUT"},
                },
            }
        },
    }
    flow = {"source": "core", "destination": "tracker", "stream": "tasks", "target": "issues",
            "key": "id", "cursor": "updated_at", "deletes": {"detect": "none"}}  # fmt: skip
    data = {"systems": {"core": {"kind": "sqlite", "path": "core.db"}, "tracker": tracker},
            "flows": {"issues_out": flow}}  # fmt: skip
    printed = _warning(data, "flows.issues_out", "its first sync", tmp_path)
    _same(printed, "docs/first-sync.md", "warning flows.issues_out: its first sync")


def test_unsigned_webhooks(tmp_path: Path) -> None:
    """webhooks.md: `auth: {kind: none, unsigned: true}` is taken, with a warning."""
    data = yaml.safe_load(find_block("docs/webhooks.md", "systems:\n  crm:").text)
    data["systems"]["crm"]["webhooks"]["auth"] = yaml.safe_load(
        find_block("docs/webhooks.md", "auth: {kind: none").text
    )["auth"]
    env = {"CRM_WEBHOOK_SECRET": "unused"}
    loaded = parse_workspace(yaml.safe_dump(completed(data)), "syncwell.yaml", tmp_path, env=env)
    found = [w for w in workspace_warnings(loaded) if w.where == "systems.crm.webhooks"]
    assert len(found) == 1
    printed = f"warning {found[0].where}: {found[0].message}"
    _same(printed, "docs/webhooks.md", "warning systems.crm.webhooks:")


def test_a_workflow_round_a_cycle(tmp_path: Path) -> None:
    """workspace.md: a workflow that lists a flow again is refused at the repeat, line 12."""
    text = (
        "core: core\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  crm: {kind: sqlite, path: crm.db}\n"
        "flows:\n"
        "  a: {source: crm, destination: core, stream: t, key: id, cursor: updated_at,\n"
        "      deletes: {detect: none}}\n"
        "  b: {source: core, destination: crm, stream: t, key: id, cursor: updated_at,\n"
        "      deletes: {detect: none}}\n"
        "workflows:\n"
        "  w:\n"
        "    [a, b, a]\n"
    )
    with pytest.raises(WorkspaceProblems) as refused:
        parse_workspace(text, "syncwell.yaml", tmp_path)
    _same(str(refused.value), "docs/workspace.md", "syncwell.yaml:12: [workflows.w[2]]")
