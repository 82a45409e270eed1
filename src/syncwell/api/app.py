"""The HTTP face of syncwell: webhook ingress, the REST API, metrics and health.

Webhooks are the hot path, so they skip the framework: a thin ASGI front hands
``POST /hooks/{system}`` straight to its handler (which must see the raw bytes anyway) and
everything else to the FastAPI app, where the REST API and its OpenAPI document live.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from syncwell import __version__
from syncwell.api import refusals
from syncwell.api.auth import Access
from syncwell.api.dashboard import install_dashboard
from syncwell.api.headers import with_safe_headers
from syncwell.api.health import Readiness
from syncwell.api.hooks import HookEndpoint
from syncwell.api.login import login_router
from syncwell.api.rest import StoreHolder, rest_router
from syncwell.api.store_metrics import store_metrics
from syncwell.engine import Engine
from syncwell.measure.prometheus import SyncwellCollector
from syncwell.workspace import Workspace

__all__ = ["create_app"]

_HOOKS = "/hooks/"
_HOOK_METHODS = frozenset({"POST", "GET", "HEAD"})


def create_app(engine: Engine | None = None, *, workspace: Workspace | None = None) -> ASGIApp:
    """The app serving `engine` (``POST /hooks/{system}``, ``/metrics``, health), and the
    REST API of its workspace; with only a `workspace`, the REST API alone (`syncwell serve`).
    """
    if engine is None and workspace is None:
        raise ValueError("create_app needs an engine or a workspace")
    served = engine.workspace if engine is not None else workspace
    assert served is not None
    holder = StoreHolder(served.state)
    readiness = Readiness.of(holder.get, engine)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await holder.close()
        if readiness.probe is not None:
            await readiness.probe.close()

    app = FastAPI(
        lifespan=lifespan,
        title="syncwell",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Traces come from syncwell's own spans; FastAPI's would read the environment on
        # every request, a cost the webhook path can't spare.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )

    app.include_router(rest_router(served, holder))
    app.include_router(login_router(holder.tokens))
    install_dashboard(app, served, holder)
    registry = CollectorRegistry()
    registry.register(refusals.AUTH_FAILURES)
    registry.register(refusals.AUTH_THROTTLED)
    if engine is not None:
        registry.register(SyncwellCollector(served.name, engine.observer.samples))

    # Metrics name every flow and integration and their volumes: a viewer's token reads them
    # (Prometheus sends it with `authorization: {credentials: ...}` in its scrape config).
    viewer = Depends(Access(holder.tokens).require("viewer"))

    @app.get("/metrics", include_in_schema=False, dependencies=[viewer])
    async def metrics() -> Response:
        body = generate_latest(registry)
        if engine is None:  # `syncwell serve`: no engine counts, so the store's view
            body += await store_metrics(served, await holder.get())
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        # Ready means able to do the job: the engine runs, the state store answers and the
        # transport carries (api/health.py), so a supervisor stops sending work to a process
        # cut off from either, and sees it come back.
        problem = await readiness.problem()
        if problem is not None:
            return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready"})

    return _Front(HookEndpoint(engine) if engine is not None else None, app)


class _Front:
    """Webhooks straight to their handler; every other request to the app."""

    def __init__(self, hooks: HookEndpoint | None, app: ASGIApp) -> None:
        self._hooks = hooks
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            send = with_safe_headers(send)
        if scope["type"] == "http" and scope["path"].startswith(_HOOKS):
            # /hooks/<system>, or /hooks/<system>/<secret> for a secret in the path; GET and
            # HEAD are a sender's handshake (a challenge to echo, a URL check).
            system, _, secret = scope["path"][len(_HOOKS) :].partition("/")
            if scope["method"] in _HOOK_METHODS and system and "/" not in secret:
                if self._hooks is None:
                    response: Response = JSONResponse(
                        {"detail": "no engine runs here: webhooks go to `syncwell run`"},
                        status_code=503,
                    )
                else:
                    request = Request(scope, receive)
                    response = await self._hooks.respond(request, system, secret or None)
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)
