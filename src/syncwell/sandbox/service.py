"""The frame every tool's FastAPI app shares: the gate, the admin routes, the error handler."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from syncwell.sandbox.admin import admin_router
from syncwell.sandbox.gate import ADMIN_PREFIX, Gate, GatePolicy
from syncwell.sandbox.params import ApiError
from syncwell.sandbox.tool import ToolRuntime

__all__ = ["new_service"]


def new_service(
    title: str,
    runtime: ToolRuntime,
    policy: GatePolicy,
    records: Callable[[], Mapping[str, int]],
    webhooks_pending: Callable[[], int] = lambda: 0,
) -> FastAPI:
    """A FastAPI app with the tool's gate and `/_sandbox/*`; the caller adds the API routes.

    The OpenAPI page lives under `/_sandbox/docs`, so it needs no credentials.
    """
    app = FastAPI(
        title=title,
        docs_url=f"{ADMIN_PREFIX}/docs",
        openapi_url=f"{ADMIN_PREFIX}/openapi.json",
        redoc_url=None,
    )
    app.include_router(admin_router(runtime, records, webhooks_pending))
    app.add_middleware(Gate, runtime=runtime, policy=policy)

    async def refuse(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        body = policy.error_body(error.status, error.message, error.errors)
        return JSONResponse(body, error.status)

    app.add_exception_handler(ApiError, refuse)
    return app
