"""A small JSON API for the http connector's tests: every pagination style, auth, bulk writes.

It runs under uvicorn on loopback (see conftest.py) and keeps its state in `ApiState`, which
the tests reset, fill, inspect and arm with faults (answers to send instead of the real one).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

BASE_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SECRETS = {"bearer": "s3cret", "key": "k3y", "user": "ann", "password": "pw", "client": "cid"}


def contact(i: int, minutes: int | None = None) -> dict[str, Any]:
    """The i-th contact, changed `minutes` (default i) after BASE_TIME."""
    at = BASE_TIME + dt.timedelta(minutes=i if minutes is None else minutes)
    return {
        "id": f"c{i:04d}",
        "updatedAt": at.isoformat().replace("+00:00", "Z"),
        "properties": {"email": f"user{i}@example.com", "firstname": f"N{i}"},
    }


@dataclass
class Fault:
    """An answer sent instead of the real one, `times` times, to requests under `path`."""

    path: str
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    method: str | None = None


@dataclass
class Seen:
    """A request the API received."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class ApiState:
    """Everything the API holds; tests change it between requests."""

    contacts: list[dict[str, Any]] = field(default_factory=list)
    things: dict[str, dict[str, Any]] = field(default_factory=dict)
    upserted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, bool] = field(default_factory=dict)
    token_lifetime: int = 3600
    all_or_nothing: bool = False
    page_cap: int | None = None
    etags: bool = False
    """Cursor pages carry an ETag and answer 304 to an If-None-Match that still matches."""
    not_modified: int = 0
    """304s answered."""
    """Cursor pages end after this many, as APIs that cap a listing do (unannounced)."""

    def reset(self, contacts: int = 0) -> None:
        """Forget everything; hold `contacts` contacts."""
        self.__init__()  # type: ignore[misc]
        self.contacts = [contact(i) for i in range(contacts)]

    def seen(self, prefix: str) -> list[Seen]:
        """The requests received under `prefix`."""
        return [r for r in self.requests if r.path.startswith(prefix)]


STATE = ApiState()


def _changed_since(records: list[dict[str, Any]], since: str | None) -> list[dict[str, Any]]:
    if since is None:
        return records
    if since.isdigit():  # unix milliseconds
        moment = dt.datetime.fromtimestamp(int(since) / 1000, dt.UTC)
    else:
        moment = dt.datetime.fromisoformat(since)
    return [r for r in records if dt.datetime.fromisoformat(r["updatedAt"]) >= moment]


def _ordered(since: str | None) -> list[dict[str, Any]]:
    return sorted(_changed_since(STATE.contacts, since), key=lambda r: str(r.get("id")))


async def cursor_items(request: Request) -> Response:
    q = request.query_params
    rows = _ordered(q.get("updated_since"))
    after, limit = q.get("after"), int(q.get("limit", "100"))
    if after is not None:
        rows = [r for r in rows if r["id"] > after]
    page = rows[:limit]
    body: dict[str, Any] = {"results": page, "total": len(STATE.contacts)}
    capped = STATE.page_cap is not None and len(STATE.contacts) - len(rows) + limit >= (
        STATE.page_cap * limit
    )
    if len(rows) > limit and not capped:
        body["paging"] = {"next": {"after": page[-1]["id"]}}
    if STATE.etags:
        tag = f'W/"{hash(json.dumps(body, sort_keys=True)) & 0xFFFFFFFF:x}"'
        if request.headers.get("if-none-match") == tag:
            STATE.not_modified += 1
            return Response(status_code=304, headers={"ETag": tag})
        return JSONResponse(body, headers={"ETag": tag})
    return JSONResponse(body)


async def next_url_items(request: Request) -> Response:
    start = int(request.query_params.get("page_token", "0"))
    rows = _ordered(None)
    page = rows[start : start + 100]
    more = start + 100 < len(rows)
    following = f"/nexturl/items?page_token={start + 100}" if more else None
    return JSONResponse({"data": {"items": page}, "next": following})


async def link_items(request: Request) -> Response:
    number = int(request.query_params.get("page", "1"))
    rows = _ordered(None)
    page = rows[(number - 1) * 100 : number * 100]
    headers = {}
    if number * 100 < len(rows):
        following = request.url.include_query_params(page=number + 1)
        headers["Link"] = f'<{following}>; rel="next", <{request.url}>; rel="self"'
    return JSONResponse(page, headers=headers)


async def offset_items(request: Request) -> Response:
    q = request.query_params
    rows = _ordered(q.get("modified_after"))
    offset, limit = int(q["offset"]), int(q["limit"])
    return JSONResponse({"data": rows[offset : offset + limit], "total": len(rows)})


async def page_items(request: Request) -> Response:
    q = request.query_params
    number, size = int(q["page"]), int(q["per_page"])
    rows = _ordered(None)
    return JSONResponse({"items": rows[(number - 1) * size : number * size]})


def _authorized(request: Request, style: str) -> bool:
    headers, query = request.headers, request.query_params
    if style == "bearer":
        return headers.get("authorization") == f"Bearer {SECRETS['bearer']}"
    if style == "header":
        return headers.get("x-api-key") == SECRETS["key"]
    if style == "query":
        return query.get("api_key") == SECRETS["key"]
    if style == "basic":
        token = base64.b64encode(f"{SECRETS['user']}:{SECRETS['password']}".encode()).decode()
        return headers.get("authorization") == f"Basic {token}"
    token = headers.get("authorization", "").removeprefix("Bearer ")
    return STATE.tokens.get(token, False)


async def secure_items(request: Request) -> Response:
    if not _authorized(request, request.path_params["style"]):
        return JSONResponse({"message": "unauthorized"}, status_code=401)
    return JSONResponse({"results": STATE.contacts[:3]})


async def token(request: Request) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    good = form.get("client_id") == SECRETS["client"] and form.get("client_secret") == "cs"
    if form.get("grant_type") != "client_credentials" or not good:
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    issued = f"tok-{len(STATE.tokens) + 1}"
    STATE.tokens[issued] = True
    return JSONResponse({"access_token": issued, "expires_in": STATE.token_lifetime})


def _item_errors(
    records: list[dict[str, Any]], email: Callable[[dict[str, Any]], Any]
) -> list[dict[str, Any]]:
    return [
        {"index": i, "email": email(r), "message": f"invalid email {email(r)!r}"}
        for i, r in enumerate(records)
        if "@" not in str(email(r))
    ]


async def batch_upsert(request: Request) -> Response:
    inputs = (await request.json())["inputs"]
    errors = _item_errors(inputs, lambda r: r.get("properties", {}).get("email"))
    if errors and STATE.all_or_nothing:
        return JSONResponse({"status": "error", "errors": errors}, status_code=400)
    STATE.upserted.extend(r for i, r in enumerate(inputs) if i not in {e["index"] for e in errors})
    return JSONResponse(
        {"status": "COMPLETE", "errors": errors}, status_code=207 if errors else 200
    )


async def members_batch(request: Request) -> Response:
    members = (await request.json())["members"]
    errors = _item_errors(members, lambda r: r.get("email"))
    bad = {e["index"] for e in errors}
    STATE.upserted.extend(m for i, m in enumerate(members) if i not in bad)
    return JSONResponse({"updated": len(members) - len(errors), "errors": errors})


async def things(request: Request) -> Response:
    record = await request.json()
    key = str(record["id"])  # as the path of its updates and deletes names it
    if key in STATE.things:
        return JSONResponse({"message": "already exists"}, status_code=409)
    if "@" not in str(record.get("email", "@")):
        return JSONResponse({"message": "email is invalid"}, status_code=422)
    STATE.things[key] = record
    return JSONResponse(record, status_code=201)


async def thing(request: Request) -> Response:
    key = request.path_params["key"]
    if request.method == "GET":
        if key not in STATE.things:
            return JSONResponse({"message": "not found"}, status_code=404)
        return JSONResponse(STATE.things[key])
    if request.method == "DELETE":
        if STATE.things.pop(key, None) is None:
            return JSONResponse({"message": "not found"}, status_code=404)
        return Response(status_code=204)
    record = await request.json()
    if request.method == "PATCH" and key not in STATE.things:
        return JSONResponse({"message": "not found"}, status_code=404)
    if "@" not in str(record.get("email", "@")):
        return JSONResponse({"message": "email is invalid"}, status_code=422)
    STATE.things[key] = {**STATE.things.get(key, {}), **record}
    return JSONResponse(STATE.things[key])


async def all_things(request: Request) -> Response:
    return JSONResponse({"things": list(STATE.things.values())})


async def slow(request: Request) -> Response:
    await asyncio.sleep(1.0)
    return JSONResponse({"results": []})


class Faults:
    """Logs each request, sends armed faults instead of answers, adds the state's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        request = Request(scope)
        STATE.requests.append(_seen(request, scope, body))
        fault = _armed(scope["path"], scope["method"])
        if fault is not None:
            fault.times -= 1
            payload = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            answer = Response(payload, fault.status, {**STATE.headers, **fault.headers})
            await answer(scope, receive, send)
            return

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(k.lower().encode(), v.encode()) for k, v in STATE.headers.items()]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, replay, with_headers)


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _seen(request: Request, scope: Scope, body: bytes) -> Seen:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode(errors="replace")
    return Seen(
        scope["method"],
        scope["path"],
        scope.get("raw_path", b"").decode(),
        dict(request.query_params),
        dict(request.headers),
        parsed,
    )


def _armed(path: str, method: str) -> Fault | None:
    for fault in STATE.faults:
        if fault.times > 0 and path.startswith(fault.path) and fault.method in (None, method):
            return fault
    return None


app = Faults(
    Starlette(
        routes=[
            Route("/cursor/items", cursor_items),
            Route("/nexturl/items", next_url_items),
            Route("/link/items", link_items),
            Route("/offset/items", offset_items),
            Route("/page/items", page_items),
            Route("/secure/{style}/items", secure_items),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/v1/contacts/batch/upsert", batch_upsert, methods=["POST"]),
            Route("/api/lists/{list_id}/members:batch", members_batch, methods=["POST"]),
            Route("/things", things, methods=["POST"]),
            Route("/things", all_things, methods=["GET"]),
            Route("/things/{key:path}", thing, methods=["GET", "PUT", "PATCH", "DELETE"]),
            Route("/slow", slow),
        ]
    )
)
