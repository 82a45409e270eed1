"""End to end through the engine, against the sandbox project tool reading `modified=<op><time>`.

A bare `modified=<time>` means "equal to" there: the filter that once returned nothing and
lost an edit without a word. Now the flow stops with the evidence; `>={since}` passes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from syncwell import Engine, load_workspace
from syncwell.sandbox import FaultSettings, ProjectConfig, Sandbox, SandboxConfig

WORKSPACE = """
name: filter-check
systems:
  app: {{kind: sqlite, path: app.db}}
  project:
    kind: http
    base_url: {url}
    auth: {{type: basic, username: sandbox, password: sandbox-project-pass}}
    retry: {{max_attempts: 1, base_s: 0.01, cap_s: 0.01}}
    streams:
      tasks:
        read:
          path: /api/v2/tasks
          records: data
          total: total
          pagination: {{style: offset, page_size: 50}}
          incremental:
            params: {{modified: "{template}"}}
            check: {check}
flows:
  tasks_in:
    source: project
    destination: app
    stream: tasks
    key: id
    cursor: modified_at
    fields: [id, title, modified_at]
"""


@pytest.fixture
async def project_url() -> AsyncIterator[str]:
    config = SandboxConfig(
        project=ProjectConfig(port=0, tasks=60, faults=FaultSettings(), filter_syntax="operator")
    )
    config = config.model_copy(
        update={
            "crm": config.crm.model_copy(update={"port": 0, "contacts": 5, "companies": 1}),
            "email": config.email.model_copy(update={"port": 0}),
        }
    )
    async with Sandbox(config) as endpoints:
        yield endpoints.project_url


def _workspace(root: Path, url: str, template: str, check: str = "true") -> Path:
    with sqlite3.connect(root / "app.db") as db:
        db.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT, modified_at TEXT)")
    path = root / "syncwell.yaml"
    path.write_text(WORKSPACE.format(url=url, template=template, check=check))
    return path


async def _edit(url: str, task_id: int) -> None:
    async with httpx.AsyncClient(auth=("sandbox", "sandbox-project-pass")) as client:
        answer = await client.patch(f"{url}/api/v2/tasks/{task_id}", json={"title": "Re-planned"})
        assert answer.status_code == 200, answer.text


def _title(root: Path, task_id: int) -> str:
    with sqlite3.connect(root / "app.db") as db:
        return str(db.execute("SELECT title FROM tasks WHERE id = ?", (task_id,)).fetchone()[0])


async def test_an_equal_to_filter_stops_the_flow_with_the_evidence(
    project_url: str, tmp_path: Path
) -> None:
    """The first full read lands; the first incremental read fails, saying what was sent."""
    engine = Engine(load_workspace(_workspace(tmp_path, project_url, "{since}")))
    await engine.run(once=True)
    progress = engine.progress["tasks_in"]
    assert progress.gave_up and progress.read == 60
    error = progress.last_error
    assert error.startswith("IntegrationFatalError: project: the incremental filter")
    assert "(params {'modified': '{since}'})" in error
    assert "sent as GET /api/v2/tasks?modified=20" in error and "&offset=0&limit=50" in error
    assert "it returned 0 record(s)" in error and "none of the 5 newest" in error


async def test_without_the_check_the_same_filter_loses_an_edit_silently(
    project_url: str, tmp_path: Path
) -> None:
    """What the check prevents: with it off, the edit never arrives and nothing complains."""
    engine = Engine(load_workspace(_workspace(tmp_path, project_url, "{since}", "false")))
    await engine.run(once=True)
    before = _title(tmp_path, 7)
    await _edit(project_url, 7)
    again = Engine(load_workspace(tmp_path / "syncwell.yaml"))
    await again.run(once=True)
    assert not again.progress["tasks_in"].gave_up
    assert _title(tmp_path, 7) == before != "Re-planned"


async def test_an_operator_filter_passes_its_check_and_brings_the_edit(
    project_url: str, tmp_path: Path
) -> None:
    """`modified=>={since}` returns what changed: the check passes and the edit arrives."""
    engine = Engine(load_workspace(_workspace(tmp_path, project_url, ">={since}")))
    await engine.run(once=True)
    assert not engine.progress["tasks_in"].gave_up
    await _edit(project_url, 7)
    again = Engine(load_workspace(tmp_path / "syncwell.yaml"))
    await again.run(once=True)
    assert not again.progress["tasks_in"].gave_up
    assert _title(tmp_path, 7) == "Re-planned"
