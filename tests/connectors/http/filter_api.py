"""Endpoints that read an incremental filter each in its own API's syntax, strictly.

Each reads the contacts of `api.STATE` (and logs requests there): an operator inside the value
(a bare value means "equal to", the case that silently returned nothing), a NocoDB-like
query language, a Parse-like JSON `where`, the time in the path, a POST search body, and a
local time in Europe/Berlin. Anything else is a 400, as a strict API would answer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.connectors.http.api import STATE, Faults

_OPERATOR = re.compile(r"^(>=|<=|>|<|=)?(.+)$")
_NOCO = re.compile(r"^\(updatedAt,(gte|gt|eq),exactDate,(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\)$")


def _at(record: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(record["updatedAt"])


def _answer(test: Any) -> Response:
    rows = [r for r in STATE.contacts if test(_at(r))]
    return JSONResponse({"results": sorted(rows, key=lambda r: str(r["id"]))})


def _bad(message: str) -> Response:
    return JSONResponse({"message": message}, status_code=400)


async def operator_items(request: Request) -> Response:
    """`modified=>=<iso>`; a bare `modified=<iso>` means equal to; unknown params are ignored."""
    value = request.query_params.get("modified")
    if value is None:
        return _answer(lambda at: True)
    match = _OPERATOR.match(value)
    assert match is not None
    op, text = match.group(1) or "=", match.group(2)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return _bad(f"modified: cannot read {text!r}")
    tests = {
        ">=": lambda at: at >= moment,
        ">": lambda at: at > moment,
        "<=": lambda at: at <= moment,
        "<": lambda at: at < moment,
        "=": lambda at: at == moment,
    }
    return _answer(tests[op])


async def noco_items(request: Request) -> Response:
    """`where=(updatedAt,gte,exactDate,2024-01-01 00:00:00)`, UTC, no T or Z."""
    where = request.query_params.get("where")
    if where is None:
        return _answer(lambda at: True)
    match = _NOCO.match(where)
    if match is None:
        return _bad(f"where: cannot parse {where!r}")
    moment = dt.datetime.strptime(match.group(2), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    op = match.group(1)
    return _answer(lambda at: at >= moment if op == "gte" else at > moment)


async def parse_items(request: Request) -> Response:
    """`where={"updatedAt": {"$gte": {"__type": "Date", "iso": "...000Z"}}}`, JSON in a param."""
    where = request.query_params.get("where")
    if where is None:
        return _answer(lambda at: True)
    try:
        date = json.loads(where)["updatedAt"]["$gte"]
        assert date["__type"] == "Date" and re.fullmatch(r".+\.\d{3}Z", date["iso"])
        moment = dt.datetime.fromisoformat(date["iso"])
    except (ValueError, KeyError, TypeError, AssertionError):
        return _bad(f"where: not a Parse query: {where!r}")
    return _answer(lambda at: at >= moment)


async def path_items(request: Request) -> Response:
    """`/since/<iso>/items`."""
    moment = dt.datetime.fromisoformat(request.path_params["moment"])
    return _answer(lambda at: at >= moment)


async def search_items(request: Request) -> Response:
    """POST `{"query": {"updated": {"gte": <unix ms>}}, "limit": 100}`."""
    body = await request.json()
    if body.get("limit") != 100:
        return _bad("limit is required")
    gte = body.get("query", {}).get("updated", {}).get("gte")
    if gte is None:
        return _answer(lambda at: True)
    if not isinstance(gte, int):
        return _bad("gte must be a number of milliseconds")
    moment = dt.datetime.fromtimestamp(gte / 1000, dt.UTC)
    return _answer(lambda at: at >= moment)


async def local_items(request: Request) -> Response:
    """`changed_after=01.01.2024 01:15` in Berlin's local time."""
    text = request.query_params.get("changed_after")
    if text is None:
        return _answer(lambda at: True)
    local = dt.datetime.strptime(text, "%d.%m.%Y %H:%M")
    moment = local.replace(tzinfo=ZoneInfo("Europe/Berlin"))
    return _answer(lambda at: at >= moment)


app = Faults(
    Starlette(
        routes=[
            Route("/op/items", operator_items),
            Route("/noco/items", noco_items),
            Route("/parse/items", parse_items),
            Route("/since/{moment}/items", path_items),
            Route("/search/items", search_items, methods=["POST"]),
            Route("/local/items", local_items),
        ]
    )
)


@contextmanager
def serving() -> Iterator[str]:
    """These endpoints on loopback; yields the root URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the filter API did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
