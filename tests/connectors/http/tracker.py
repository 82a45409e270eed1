"""A project tracker that behaves as the real ones do: it assigns the ids, has no upsert and
never answers 409 (a second POST makes a second issue), refuses a POST that carries an id with
400, answers 422 for an issue without a subject (as Redmine does), answers 404 for an issue
deleted there, and filters by exact field values.

It runs under uvicorn on loopback (`TrackerServer`) with its state in `Tracker`, which tests
inspect and arm: a create can hang after it stored the issue (the answer lost, as in a crash
or a timeout), a field can be silently ignored, filters can be ignored altogether.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp


@dataclass
class Tracker:
    """The tracker's issues and its knobs."""

    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 101
    posts: int = 0
    puts: int = 0
    deletes: int = 0
    finds: int = 0
    hang_creates: bool = False
    """Store each created issue, then never answer (until released)."""
    hung: int = 0
    ignored: frozenset[str] = frozenset()
    """Fields taken without error and not stored (as a tracker ignores done_ratio)."""
    filters_ignored: bool = False
    """Answer every issue to a find, whatever it asked for."""
    refused_in_finds: str | None = None
    """Answer 400 to a find whose values hold this text (a quote that breaks a query)."""
    release: asyncio.Event | None = None
    idempotency: dict[str, int] = field(default_factory=dict)
    honour_idempotency: bool = False
    soft_deletes: bool = False
    """Keep a deleted issue at its URL with status "deleted", and answer 500 to deleting it
    again (as Request Tracker does)."""
    hide_deleted: bool = False
    """With soft_deletes: a GET of a deleted issue answers 404."""

    def by(self, name: str, value: object) -> list[dict[str, Any]]:
        return [issue for issue in self.issues.values() if issue.get(name) == value]


TRACKER = Tracker()


async def create(request: Request) -> Response:
    state = TRACKER
    body = await request.json()
    issue = dict(body.get("issue", {}))
    if "id" in issue:
        return JSONResponse({"errors": ["id cannot be set"]}, status_code=400)
    if _blank(issue.get("subject")):
        return JSONResponse({"errors": ["Subject cannot be blank"]}, status_code=422)
    key = request.headers.get("idempotency-key")
    if state.honour_idempotency and key and key in state.idempotency:
        # The first answer again, as Stripe-like APIs replay it for a day: the issue may
        # have been deleted since.
        known = state.idempotency[key]
        return JSONResponse({"issue": state.issues.get(known, {"id": known})}, status_code=201)
    state.posts += 1
    number = state.next_id
    state.next_id += 1
    stored = {name: value for name, value in issue.items() if name not in state.ignored}
    state.issues[number] = {"id": number, **stored}
    if key:
        state.idempotency[key] = number
    if state.hang_creates:
        state.hung += 1
        await asyncio.sleep(3600)  # the answer never comes: a crash or a timeout takes it
    headers = {"Location": f"http://tracker.example/issues/{number}"}
    return JSONResponse({"issue": state.issues[number]}, status_code=201, headers=headers)


def _blank(subject: object) -> bool:
    return not str(subject or "").strip()


async def update(request: Request) -> Response:
    state = TRACKER
    number = int(request.path_params["number"])
    if number not in state.issues:
        return JSONResponse({"errors": ["not found"]}, status_code=404)
    state.puts += 1
    issue = dict((await request.json()).get("issue", {}))
    issue.pop("id", None)
    if "subject" in issue and _blank(issue["subject"]):
        return JSONResponse({"errors": ["Subject cannot be blank"]}, status_code=422)
    state.issues[number].update({k: v for k, v in issue.items() if k not in state.ignored})
    return Response(status_code=204)


async def delete(request: Request) -> Response:
    state = TRACKER
    number = int(request.path_params["number"])
    if state.soft_deletes and number in state.issues:
        if state.issues[number].get("status") == "deleted":
            return JSONResponse({"errors": ["Internal Server Error"]}, status_code=500)
        state.issues[number]["status"] = "deleted"
    elif state.issues.pop(number, None) is None:
        return JSONResponse({"errors": ["not found"]}, status_code=404)
    state.deletes += 1
    return Response(status_code=204)


async def find(request: Request) -> Response:
    state = TRACKER
    state.finds += 1
    bad = state.refused_in_finds
    if bad is not None and any(bad in value for value in request.query_params.values()):
        return JSONResponse({"message": "Wrong query"}, status_code=400)
    issues = list(state.issues.values())
    if not state.filters_ignored:
        for name, value in request.query_params.items():
            issues = [issue for issue in issues if str(issue.get(name)) == value]
    return JSONResponse({"issues": issues, "total_count": len(issues)})


async def one(request: Request) -> Response:
    issue = TRACKER.issues.get(int(request.path_params["number"]))
    hidden = TRACKER.hide_deleted and issue is not None and issue.get("status") == "deleted"
    if issue is None or hidden:
        return JSONResponse({"errors": ["not found"]}, status_code=404)
    return JSONResponse({"issue": issue})


app = Starlette(
    routes=[
        Route("/issues.json", create, methods=["POST"]),
        Route("/issues.json", find, methods=["GET"]),
        Route("/issues/{number}.json", update, methods=["PUT"]),
        Route("/issues/{number}.json", delete, methods=["DELETE"]),
        Route("/issues/{number}.json", one, methods=["GET"]),
    ]
)


class LoopbackServer:
    """An ASGI app on a loopback port, in a thread of the test process."""

    def __init__(self, served: ASGIApp) -> None:
        config = uvicorn.Config(
            served, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # a hung create must not hold the test's end
        self._thread.join(timeout=10)


class TrackerServer(LoopbackServer):
    """The tracker on a loopback port, in a thread of the test process."""

    def __init__(self) -> None:
        super().__init__(app)


def reset() -> Tracker:
    """An empty tracker, as the module-wide state its routes use."""
    global TRACKER
    TRACKER = Tracker()
    return TRACKER


ISSUES_WRITE: dict[str, Any] = {
    "ids": {"field": "id", "answer": "issue.id"},
    "create": {"path": "/issues.json", "body": {"issue": "{{record}}"}},
    "update": {"path": "/issues/{id}.json", "method": "PUT", "body": {"issue": "{{record}}"}},
    "delete": {"path": "/issues/{id}.json"},
}
"""The tracker's issues as a write: ids it assigns, kept by syncwell; no find."""

ISSUES_FIND: dict[str, Any] = {
    "path": "/issues.json",
    "params": {"subject": "{{record.subject}}"},
    "records": "issues",
    "by": "subject",
}
"""A lookup by subject (the natural key of these tests' issues)."""


def tracker_workspace(
    url: str,
    columns: tuple[str, ...],
    *,
    write: dict[str, Any] | None = None,
    read: bool = False,
    flow: dict[str, Any] | None = None,
    flows: dict[str, Any] | None = None,
) -> str:
    """A workspace writing a SQLite core's `tasks` (key `id`, cursor `version`) to the
    tracker's issues: the core's id travels as `external_id`, `columns` keep their names.

    `write` is the stream's write (default `ISSUES_WRITE`), `read` adds its read, `flow` adds
    settings to the flow `issues_out`, and `flows` adds flows of their own."""
    stream: dict[str, Any] = {"write": write or ISSUES_WRITE}
    if read:
        stream["read"] = {"path": "/issues.json", "records": "issues"}
    fields = {"id": "external_id", **{column: column for column in columns}, "version": "version"}
    issues_out = {
        "source": "app",
        "destination": "tracker",
        "stream": "tasks",
        "target": "issues",
        "key": "id",
        "cursor": "version",
        "lookback": "0s",
        "fields": fields,
        "deletes": {"detect": "none"},
        **(flow or {}),
    }
    document = {
        "core": "app",
        "systems": {
            "app": {"kind": "sqlite", "path": "app.db"},
            "tracker": {
                "kind": "http",
                "base_url": url,
                "retry": {"max_attempts": 2, "base_s": 0.01, "cap_s": 0.01},
                "streams": {"issues": stream},
            },
        },
        "flows": {"issues_out": issues_out, **(flows or {})},
    }
    return yaml.safe_dump(document, sort_keys=False)
