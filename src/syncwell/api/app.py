"""The HTTP face of a running engine: webhook ingress and health.

Starlette routes mounted on a FastAPI app: the webhook route is the hot path and needs none of
FastAPI's request parsing (it must see the raw bytes anyway), while the app gives the REST API
and its OpenAPI document a home.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from syncwell import __version__
from syncwell.api.hooks import HookEndpoint
from syncwell.engine import Engine

__all__ = ["create_app"]


def create_app(engine: Engine) -> FastAPI:
    """The app serving `engine`: ``POST /hooks/{system}``, ``/healthz`` and ``/readyz``."""
    app = FastAPI(
        title="syncwell",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    hooks = HookEndpoint(engine)
    app.router.routes.append(Route("/hooks/{system}", hooks.receive, methods=["POST"]))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        if engine.committer is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse({"status": "ready"})

    return app
