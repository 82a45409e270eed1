"""The project tool: offset pages by modification, task writes, basic auth, its stinginess."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from syncwell.sandbox import PeriodicOutage, ProjectConfig
from tests.sandbox.conftest import TASKS, Tools

TASKS_URL = "/api/v2/tasks"


async def _walk(tools: Tools, **params: Any) -> tuple[list[dict[str, Any]], int]:
    tasks: list[dict[str, Any]] = []
    offset, total = 0, 0
    while True:
        response = await tools.project.get(
            TASKS_URL, params={**params, "offset": offset, "limit": 50}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        tasks += page["data"]
        total = page["total"]
        offset += 50
        if offset >= total:
            return tasks, total


async def test_offset_walk_visits_every_task_once_in_modification_order(tools: Tools) -> None:
    """Pages of 50 by offset read every task once, ordered by (modified_at, id)."""
    tasks, total = await _walk(tools)
    assert total == TASKS and len({task["id"] for task in tasks}) == TASKS
    order = [(task["modified_at"], task["id"]) for task in tasks]
    assert order == sorted(order) and tasks[0]["modified_at"].endswith("+00:00")
    assert (await tools.project.get(TASKS_URL, params={"limit": 51})).status_code == 400


async def test_modified_after_returns_only_tasks_changed_later(tools: Tools) -> None:
    """`modified_after` is strict: the tasks patched after the mark, nothing else."""
    tasks, _ = await _walk(tools)
    mark = tasks[-1]["modified_at"]
    for task_id in (5, 17, 3):
        patched = await tools.project.patch(f"{TASKS_URL}/{task_id}", json={"title": "Re-plan"})
        assert patched.status_code == 200 and patched.json()["modified_at"] > mark
    later, total = await _walk(tools, modified_after=mark)
    assert [task["id"] for task in later] == [5, 17, 3] and total == 3


async def test_tasks_are_created_patched_and_deleted(tools: Tools) -> None:
    """POST makes a task (201), PATCH changes it, DELETE removes it; bad fields are 400s."""
    made = await tools.project.post(
        TASKS_URL, json={"title": "Call Ann", "contact_email": "ann@example.com"}
    )
    assert made.status_code == 201 and made.json()["status"] == "todo"
    task_id = made.json()["id"]
    bad = await tools.project.patch(f"{TASKS_URL}/{task_id}", json={"due_date": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "due_date"
    done = await tools.project.patch(f"{TASKS_URL}/{task_id}", json={"status": "done"})
    assert done.json()["status"] == "done"
    assert (await tools.project.delete(f"{TASKS_URL}/{task_id}")).status_code == 204
    assert (await tools.project.get(f"{TASKS_URL}/{task_id}")).status_code == 404
    assert (await tools.project.post(TASKS_URL, json={"status": "todo"})).status_code == 400


async def test_basic_auth_is_required(tools: Tools) -> None:
    """Without the right user and password the answer is 401 with a Basic challenge."""
    url = f"{tools.endpoints.project_url}{TASKS_URL}"
    wrong = await tools.anonymous.get(url, auth=("sandbox", "wrong"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    assert (await tools.anonymous.get(url)).status_code == 401


async def test_its_rate_limit_sends_retry_after_but_no_rate_limit_headers(tools: Tools) -> None:
    """At 2 requests/s the third request in a second is a 429 with only a Retry-After."""
    await tools.set_faults(tools.endpoints.project_url, rate_limit_per_s=2)
    await asyncio.sleep(1.01 - time.monotonic() % 1)  # start at the top of a window
    answers = [await tools.project.get(TASKS_URL, params={"limit": 1}) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].headers["retry-after"] == "1"
    assert not any("x-ratelimit-limit" in answer.headers for answer in answers)


async def test_defaults_make_it_slow_stingy_and_down_20_s_in_300() -> None:
    """Out of the box the project tool limits to 2/s, adds latency and has its outage window."""
    faults = ProjectConfig().faults
    assert faults.rate_limit_per_s == 2 and faults.latency_ms > 0
    assert faults.outages == (PeriodicOutage(every_s=300, for_s=20),)
