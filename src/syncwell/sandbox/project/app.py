"""The slow project tool: tasks by offset, basic auth, 2 requests/s, scheduled outages."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from syncwell.sandbox import seed
from syncwell.sandbox.config import SandboxConfig
from syncwell.sandbox.database import open_database
from syncwell.sandbox.gate import ADMIN_PREFIX, GatePolicy
from syncwell.sandbox.params import (
    BadRequestError,
    NotFoundError,
    instant_param,
    int_param,
    read_count,
    read_json_object,
)
from syncwell.sandbox.project.store import SCHEMA, TaskStore
from syncwell.sandbox.project.tasks import SHAPE, check_task
from syncwell.sandbox.service import new_service
from syncwell.sandbox.stamps import VersionClock, parse_instant
from syncwell.sandbox.tool import Tool, ToolRuntime

__all__ = ["create_project"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    429: "rate_limited",
    503: "unavailable",
}


def error_body(status: int, message: str, errors: list[dict[str, object]]) -> dict[str, object]:
    """An error in the project tool's words."""
    error: dict[str, object] = {"code": _CODES.get(status, "server_error"), "message": message}
    if errors:
        error["details"] = errors
    return {"error": error}


def _basic(username: str, password: str) -> GatePolicy:
    expected = f"{username}:{password}".encode()

    def authorize(headers: Headers) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token, validate=True)
        except binascii.Error:
            return False
        return hmac.compare_digest(given, expected)

    return GatePolicy(
        authorize=authorize,
        error_body=error_body,
        rate_limit_headers=False,
        unauthorized_headers={"WWW-Authenticate": 'Basic realm="sandbox project tool"'},
    )


def create_project(config: SandboxConfig) -> Tool:
    """Open (and on first use seed) the project tool's file and build its app."""
    settings = config.project
    runtime = ToolRuntime("project", settings.faults, config.seed)
    connection, fresh = open_database(config.data_dir, "project", SCHEMA)
    store = TaskStore(connection, VersionClock("offset"))
    domains = [company.domain for company in seed.companies(config.seed, config.crm.companies)]
    contacts = [person.email for person in seed.people(config.seed, config.crm.contacts, domains)]
    if fresh:
        store.fill(seed.tasks(config.seed, settings.tasks, contacts))

    def records() -> dict[str, int]:
        return {"tasks": store.count()}

    policy = _basic(settings.username, settings.password)
    app = new_service("syncwell sandbox project tool", runtime, policy, records)
    app.include_router(_tasks_router(store, runtime, settings.filter_syntax))
    _add_simulation(app, store, runtime, contacts)

    async def close() -> None:
        connection.close()

    return Tool("project", app, runtime, records, close)


def _found(store: TaskStore, task_id: int) -> dict[str, object]:
    task = store.get(task_id)
    if task is None:
        raise NotFoundError(f"no task {task_id}")
    return task


def _change_filter(request: Request, syntax: str) -> tuple[str, str | None]:
    """The comparison and time of the list's change filter, read in the tool's `syntax`.

    `operator` reads `modified=>=<time>`; a bare time means equal to, as some tools read it.
    """
    if syntax == "modified_after":
        return ">", instant_param(request, "modified_after")
    raw = request.query_params.get("modified")
    if raw is None:
        return ">", None
    op = next((op for op in (">=", "<=", ">", "<", "=") if raw.startswith(op)), "")
    text = raw.removeprefix(op)
    if parse_instant(text) is None:
        raise BadRequestError(f"modified must be [op]<ISO-8601 time>, got {raw!r}")
    return op or "=", text


def _tasks_router(store: TaskStore, runtime: ToolRuntime, filter_syntax: str) -> APIRouter:
    router = APIRouter(prefix="/api/v2/tasks", tags=["tasks"])

    @router.get("")
    async def list_tasks(request: Request) -> JSONResponse:
        """A page of tasks by `(modified_at, id)`, filtered by change time (`filter_syntax`)."""
        offset = int_param(request, "offset", 0, low=0, high=10**9)
        limit = int_param(request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
        op, after_text = _change_filter(request, filter_syntax)
        after_at = parse_instant(after_text) if after_text else None
        after = store.clock.text(after_at) if after_at else None
        tasks, total = store.page(offset, limit, after, op)
        return JSONResponse({"data": runtime.present(tasks, SHAPE), "total": total})

    @router.get("/{task_id}")
    async def get_task(task_id: int) -> JSONResponse:
        """One task."""
        return JSONResponse(_found(store, task_id))

    @router.post("", status_code=201)
    async def create(request: Request) -> JSONResponse:
        """A new task; `title` is required."""
        fields = check_task(await read_json_object(request), partial=False)
        return JSONResponse(store.create(fields), 201)

    @router.patch("/{task_id}")
    async def patch(task_id: int, request: Request) -> JSONResponse:
        """Change some fields of a task."""
        fields = check_task(await read_json_object(request), partial=True)
        task = store.patch(task_id, fields)
        if task is None:
            raise NotFoundError(f"no task {task_id}")
        return JSONResponse(task)

    @router.delete("/{task_id}", status_code=204)
    async def delete(task_id: int) -> Response:
        """Delete a task."""
        if not store.delete(task_id):
            raise NotFoundError(f"no task {task_id}")
        return Response(status_code=204)

    return router


def _add_simulation(
    app: FastAPI, store: TaskStore, runtime: ToolRuntime, contacts: list[str]
) -> None:
    @app.post(f"{ADMIN_PREFIX}/tasks/touch", tags=["sandbox"])
    async def touch(request: Request) -> JSONResponse:
        """Move `count` random tasks (default 10) along their workflow, as the team would."""
        count = await read_count(request)
        changed = []
        for task in store.sample(count, runtime.rng):
            status = seed.next_status(runtime.rng, str(task["status"]))
            if (patched := store.patch(int(str(task["id"])), {"status": status})) is not None:
                changed.append(patched)
        return JSONResponse({"data": changed})

    @app.post(f"{ADMIN_PREFIX}/tasks/create", tags=["sandbox"])
    async def create(request: Request) -> JSONResponse:
        """Add `count` new tasks (default 10) about CRM contacts."""
        count = await read_count(request)
        fresh = seed.tasks(runtime.rng.randrange(10**9), count, contacts)
        return JSONResponse({"data": [store.create(vars(task)) for task in fresh]}, 201)
