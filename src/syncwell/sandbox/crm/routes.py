"""The CRM's object API: `/v1/contacts` and `/v1/companies`, the same shape for both."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from syncwell.sandbox.crm.events import publish_changes, publish_delete
from syncwell.sandbox.crm.kinds import KINDS, Kind, validate_inputs
from syncwell.sandbox.crm.store import CrmStore, Cursor
from syncwell.sandbox.params import (
    NotFoundError,
    instant_param,
    int_param,
    read_json_object,
)
from syncwell.sandbox.stamps import parse_instant
from syncwell.sandbox.tool import ToolRuntime
from syncwell.sandbox.webhooks import WebhookSender

__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "objects_router"]

DEFAULT_PAGE = 10
MAX_PAGE = 100


def _kind(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFoundError(f"unknown object type {name!r}; try contacts or companies")
    return kind


def objects_router(store: CrmStore, runtime: ToolRuntime, sender: WebhookSender) -> APIRouter:
    """List, read, batch-upsert and delete contacts and companies."""
    router = APIRouter(prefix="/v1", tags=["objects"])

    @router.get("/{object_type}")
    async def list_records(object_type: str, request: Request) -> JSONResponse:
        """A page of records: by id, or by `(updated_at, id)` from `updated_since` on."""
        kind = _kind(object_type)
        limit = int_param(request, "limit", DEFAULT_PAGE, low=1, high=MAX_PAGE)
        since_text = instant_param(request, "updated_since")
        since_at = parse_instant(since_text) if since_text else None
        since = store.clock.text(since_at) if since_at else None
        after_text = request.query_params.get("after")
        after = Cursor.decode(after_text, by_update=since is not None) if after_text else None
        rows, following = store.page(kind, limit=limit, after=after, since=since)
        body: dict[str, object] = {"results": runtime.present(rows, kind.shape)}
        if following is not None:
            body["paging"] = {"next": {"after": following.encode()}}
        return JSONResponse(body)

    @router.get("/{object_type}/{key}")
    async def get_record(object_type: str, key: str) -> JSONResponse:
        """One record by its key (email or domain, case-insensitive)."""
        kind = _kind(object_type)
        record = store.get(kind, key)
        if record is None:
            raise NotFoundError(f"no {kind.singular} with {kind.key} {key!r}")
        return JSONResponse(record)

    @router.post("/{object_type}/batch/upsert")
    async def upsert(object_type: str, request: Request) -> JSONResponse:
        """Create or update up to 100 records by key; one invalid input fails them all."""
        kind = _kind(object_type)
        body = await read_json_object(request)
        changes = store.upsert(kind, validate_inputs(kind, body.get("inputs")))
        publish_changes(sender, kind, changes)
        return JSONResponse({"results": [change.record for change in changes]})

    @router.delete("/{object_type}/{key}", status_code=204)
    async def delete(object_type: str, key: str) -> Response:
        """Delete one record by key."""
        kind = _kind(object_type)
        deleted = store.delete(kind, key)
        if deleted is None:
            raise NotFoundError(f"no {kind.singular} with {kind.key} {key!r}")
        publish_delete(sender, kind, *deleted)
        return Response(status_code=204)

    return router
