"""The project tool's `filter_syntax: operator` knob: `modified=<op><time>`, bare means equal."""

from __future__ import annotations

from typing import Any

from tests.sandbox.conftest import TASKS, running, small_config

TASKS_URL = "/api/v2/tasks"


async def test_operator_syntax_compares_as_written_and_ignores_modified_after() -> None:
    """`>=` and `>` filter, a bare time is equal to, and `modified_after` is not understood."""
    config = small_config()
    config = config.model_copy(
        update={"project": config.project.model_copy(update={"filter_syntax": "operator"})}
    )
    async with running(config) as tools:

        async def found(**params: Any) -> tuple[int, int]:
            """The first id and the total of the tasks the filter keeps."""
            answer = await tools.project.get(TASKS_URL, params={**params, "limit": 50})
            assert answer.status_code == 200, answer.text
            data = answer.json()["data"]
            return (data[0]["id"] if data else 0), answer.json()["total"]

        tasks = (await tools.project.get(TASKS_URL, params={"limit": 50})).json()["data"]
        mark, at = tasks[-1]["modified_at"], tasks[-1]["id"]
        assert await found(modified=mark) == (at, 1)  # equal to, not since
        assert await found(modified=f">={mark}") == (at, TASKS - 49)
        assert await found(modified=f">{mark}") == (at + 1, TASKS - 50)
        assert await found(modified=f"<{mark}") == (1, 49)
        assert await found(modified_after=mark) == (1, TASKS)  # unknown here: ignored
        bad = await tools.project.get(TASKS_URL, params={"modified": ">=soon"})
        assert bad.status_code == 400 and "modified must be" in bad.text
