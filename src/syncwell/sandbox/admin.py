"""`/_sandbox/*` on every tool: read and turn the fault knobs, read the counters.

These routes need no credentials and are never faulted, so a test can always reach them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from syncwell.sandbox.gate import ADMIN_PREFIX
from syncwell.sandbox.params import read_json_object
from syncwell.sandbox.tool import ToolRuntime

__all__ = ["admin_router"]


def admin_router(
    runtime: ToolRuntime,
    records: Callable[[], Mapping[str, int]],
    webhooks_pending: Callable[[], int] = lambda: 0,
) -> APIRouter:
    """The shared admin routes of one tool."""
    router = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])

    @router.get("/faults")
    async def get_faults() -> JSONResponse:
        """The fault knobs as they are now."""
        return JSONResponse(runtime.faults.settings.model_dump(mode="json"))

    @router.post("/faults")
    async def set_faults(request: Request) -> JSONResponse:
        """Change the knobs named in the body; the others keep their values."""
        patch = await read_json_object(request)
        try:
            settings = runtime.faults.update(patch)
        except ValidationError as error:
            details = json.loads(error.json(include_url=False, include_input=False))
            return JSONResponse({"message": "invalid fault settings", "errors": details}, 400)
        return JSONResponse(settings.model_dump(mode="json"))

    @router.delete("/faults")
    async def reset_faults() -> JSONResponse:
        """Back to the knobs the tool started with."""
        return JSONResponse(runtime.faults.reset().model_dump(mode="json"))

    @router.get("/stats")
    async def get_stats() -> JSONResponse:
        """Counters: requests by status, 429s, early requests, webhooks, records per table."""
        return JSONResponse(runtime.stats.snapshot(records(), webhooks_pending()))

    @router.get("/requests")
    async def get_requests(limit: int = 1000) -> JSONResponse:
        """The last `limit` API requests: arrival time, path, status, whether it came early."""
        return JSONResponse({"requests": runtime.stats.recent_requests(limit)})

    return router
