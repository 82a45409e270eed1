"""The Mailchimp-like email platform: one audience, batch upserts with partial success."""

from __future__ import annotations

import hmac
import uuid

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from syncwell.sandbox.config import SandboxConfig
from syncwell.sandbox.database import open_database
from syncwell.sandbox.email.members import MAX_BATCH, SHAPE, check_member
from syncwell.sandbox.email.store import SCHEMA, EmailStore, Member
from syncwell.sandbox.gate import ADMIN_PREFIX, GatePolicy
from syncwell.sandbox.params import (
    BadRequestError,
    NotFoundError,
    instant_param,
    int_param,
    read_count,
    read_json_object,
)
from syncwell.sandbox.service import new_service
from syncwell.sandbox.stamps import VersionClock, format_stamp, parse_instant, to_micros
from syncwell.sandbox.tool import Tool, ToolRuntime

__all__ = ["create_email"]

DEFAULT_COUNT = 10
MAX_COUNT = 1000
_TITLES = {
    400: "Invalid Resource",
    401: "API Key Invalid",
    404: "Resource Not Found",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def error_body(status: int, message: str, errors: list[dict[str, object]]) -> dict[str, object]:
    """An error in Mailchimp's words (RFC 7807 problem details)."""
    body: dict[str, object] = {
        "type": "https://sandbox.syncwell.dev/docs/errors",
        "title": _TITLES.get(status, "Internal Server Error"),
        "status": status,
        "detail": message,
        "instance": str(uuid.uuid4()),
    }
    if errors:
        body["errors"] = errors
    return body


def create_email(config: SandboxConfig) -> Tool:
    """Open (and on first use seed) the email platform's file and build its app."""
    settings = config.email
    runtime = ToolRuntime("email", settings.faults, config.seed)
    connection, fresh = open_database(config.data_dir, "email", SCHEMA)
    store = EmailStore(connection, VersionClock("z"), settings.visibility_delay_s)
    if fresh:
        store.fill(config.seed, members=settings.members, companies=config.crm.companies)
    expected = settings.api_key.encode()

    def authorize(headers: Headers) -> bool:
        return hmac.compare_digest(headers.get("x-api-key", "").encode(), expected)

    def records() -> dict[str, int]:
        return {"members": store.count()}

    policy = GatePolicy(authorize=authorize, error_body=error_body, rate_limit_headers=True)
    app = new_service("syncwell sandbox email platform", runtime, policy, records)
    app.include_router(_members_router(store, runtime, settings.list_id, settings.change_times))
    _add_simulation(app, store, runtime)

    async def close() -> None:
        connection.close()

    return Tool("email", app, runtime, records, close)


def _members_router(
    store: EmailStore, runtime: ToolRuntime, list_id: str, change_times: bool
) -> APIRouter:
    router = APIRouter(prefix="/api/lists/{list_id}", tags=["members"])

    def audience(requested: str) -> None:
        if requested != list_id:
            raise NotFoundError(f"no list {requested!r}; this platform has one list, {list_id!r}")

    @router.post("/members:batch")
    async def batch(list_id: str, request: Request) -> JSONResponse:
        """Upsert up to 500 members; bad ones are listed in `errors`, the others are written."""
        audience(list_id)
        members = (await read_json_object(request)).get("members")
        if not isinstance(members, list):
            raise BadRequestError("the body needs a `members` list")
        if len(members) > MAX_BATCH:
            raise BadRequestError(
                f"a batch takes at most {MAX_BATCH} members, got {len(members)}; split it up"
            )
        valid: list[tuple[int, Member]] = []
        errors: list[dict[str, object]] = []
        for index, item in enumerate(members):
            member, problems = check_member(item)
            if member is not None:
                valid.append((index, member))
            email = item.get("email") if isinstance(item, dict) else None
            errors += [{"index": index, "email": email, "message": text} for text in problems]
        written, refused = store.write(valid)
        errors = sorted(errors + refused, key=lambda error: int(str(error["index"])))
        return JSONResponse({"updated": written, "errors": errors})

    @router.get("/members")
    async def list_members(list_id: str, request: Request) -> JSONResponse:
        """A page of visible members by offset; `since_last_changed` filters and orders by it."""
        audience(list_id)
        offset = int_param(request, "offset", 0, low=0, high=10**9)
        count = int_param(request, "count", DEFAULT_COUNT, low=1, high=MAX_COUNT)
        since_text = instant_param(request, "since_last_changed")
        if since_text and not change_times:
            raise BadRequestError("this list keeps no change times: since_last_changed is unknown")
        since_at = parse_instant(since_text) if since_text else None
        since = format_stamp(to_micros(since_at), "z") if since_at else None
        members, total = store.page(offset, count, since)
        shown = runtime.present(members, SHAPE)
        if not change_times:
            shown = [_without_time(member) for member in shown]
        return JSONResponse({"members": shown, "total_items": total})

    @router.get("/members/{email}")
    async def get_member(list_id: str, email: str) -> JSONResponse:
        """One visible member."""
        audience(list_id)
        member = store.get(email.strip().lower())
        if member is None:
            raise NotFoundError(f"no member {email!r} in list {list_id!r}")
        return JSONResponse(member)

    @router.delete("/members/{email}", status_code=204)
    async def delete_member(list_id: str, email: str) -> Response:
        """Delete a member (reads still see it until the delay has passed)."""
        audience(list_id)
        if not store.delete(email.strip().lower()):
            raise NotFoundError(f"no member {email!r} in list {list_id!r}")
        return Response(status_code=204)

    return router


def _without_time(member: dict[str, object]) -> dict[str, object]:
    return {name: value for name, value in member.items() if name != "updated_at"}


def _add_simulation(app: FastAPI, store: EmailStore, runtime: ToolRuntime) -> None:
    @app.post(f"{ADMIN_PREFIX}/members/unsubscribe", tags=["sandbox"])
    async def unsubscribe(request: Request) -> JSONResponse:
        """`count` random subscribed members unsubscribe (default 10), as readers do."""
        emails = store.sample_subscribed(await read_count(request), runtime.rng)
        store.write(
            [(i, {"email": email, "status": "unsubscribed"}) for i, email in enumerate(emails)]
        )
        return JSONResponse({"unsubscribed": emails})
