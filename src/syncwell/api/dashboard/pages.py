"""The dashboard's routes: the overview (map, constraint, integrations), a page per
integration, the incidents, and the dead letters with replay and discard.

A page needs a viewer's token, like the REST API: the session cookie the login form sets,
or a bearer header. Without one, a page sends the browser to the login form and back.
Replay, discard and a new analysis need an operator; their forms carry the session's CSRF
token (api/auth.py). Each page holds its live part in ``#live``, which htmx fetches again
every few seconds and swaps in place: the page refreshes without a reload.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from syncwell.analyze import analyze
from syncwell.api.auth import SESSION_COOKIE, Access, csrf_token
from syncwell.api.dashboard import views
from syncwell.api.dashboard.format import FILTERS
from syncwell.api.rest import DeadLetterId, StoreHolder
from syncwell.store import Role, Token
from syncwell.store.dead_letters import DeadLetterStatus
from syncwell.workspace import Workspace

__all__ = ["PAGE_HEADERS", "LoginRequired", "install_dashboard", "page_templates"]

_HERE = Path(__file__).parent
page_templates = Jinja2Templates(directory=_HERE / "templates")
page_templates.env.filters.update(FILTERS)

PAGE_HEADERS = {
    # Only our own script and stylesheet run: an injected <script> or inline handler would
    # not, and no other site may frame the pages (clickjacking the replay button).
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
"""Headers of every page."""

Window = Annotated[str, Query(pattern="^(1h|6h|24h|7d)$")]
StatusFilter = Annotated[str, Query(alias="status", pattern="^(open|replayed|discarded|all)$")]


class LoginRequired(Exception):  # noqa: N818 - not an error: the browser goes to the form
    """A page was asked for without a live token: the browser goes to the login form."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def install_dashboard(app: FastAPI, workspace: Workspace, holder: StoreHolder) -> None:
    """Add the dashboard's pages, its static files and the login redirect to `app`."""
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(_router(workspace, holder))

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(f"/login?next={quote(exc.back_to)}", status.HTTP_303_SEE_OTHER)

    app.add_exception_handler(LoginRequired, to_login)


def _page_access(access: Access, role: Role) -> Callable[[Request], Awaitable[Token]]:
    check = access.require(role)

    async def allowed(request: Request) -> Token:
        try:
            return await check(request)
        except HTTPException as refused:
            if refused.status_code == status.HTTP_401_UNAUTHORIZED and request.method == "GET":
                back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(back) from None
            raise

    return allowed


def _router(workspace: Workspace, holder: StoreHolder) -> APIRouter:
    access = Access(holder.tokens)
    # Dependencies as defaults: the annotations are strings (PEP 563) that FastAPI resolves
    # in the module's globals, where an alias local to this function is not found.
    viewer = Depends(_page_access(access, "viewer"))
    operator = Depends(_page_access(access, "operator"))
    router = APIRouter(include_in_schema=False)

    def render(request: Request, token: Token, page: str, **context: Any) -> HTMLResponse:
        query = f"?{request.url.query}" if request.url.query else ""
        context.setdefault("live_url", request.url.path + query)
        return page_templates.TemplateResponse(
            request,
            page,
            {
                "workspace": workspace.name,
                "token": token,
                "operator": token.allows("operator"),
                "csrf": _csrf(request),
                "integrations": list(workspace.integrations()),
                "now": time.time(),
                **context,
            },
            headers=PAGE_HEADERS,
        )

    @router.get("/", response_class=HTMLResponse)
    async def overview(request: Request, token: Token = viewer) -> HTMLResponse:
        view = await views.overview_view(await holder.get(), workspace)
        return render(request, token, "overview.html", view=view, nav="overview")

    @router.get("/integrations/{name}", response_class=HTMLResponse)
    async def integration(
        request: Request, name: str, window: Window = "24h", token: Token = viewer
    ) -> HTMLResponse:
        view = await views.integration_view(await holder.get(), workspace, name, window)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no integration named {name!r}")
        return render(
            request, token, "integration.html", view=view, nav=name, windows=views.WINDOWS
        )

    @router.get("/incidents", response_class=HTMLResponse)
    async def incidents(request: Request, token: Token = viewer) -> HTMLResponse:
        view = await views.incidents_view(await holder.get(), workspace)
        return render(request, token, "incidents.html", view=view, nav="incidents")

    async def letters_page(
        request: Request, token: Token, state: str, flow: str | None, notice: str = ""
    ) -> HTMLResponse:
        shown = f"/dead-letters?status={state}" + (f"&flow={quote(flow)}" if flow else "")
        chosen: DeadLetterStatus | None = None if state == "all" else state  # type: ignore[assignment]
        view = await views.dead_letters_view(await holder.get(), status=chosen, flow=flow)
        return render(
            request,
            token,
            "dead_letters.html",
            view=view,
            nav="dead-letters",
            state=state,
            notice=notice,
            flows=list(workspace.flows),
            live_url=shown,
        )

    @router.get("/dead-letters", response_class=HTMLResponse)
    async def dead_letters(
        request: Request,
        state: StatusFilter = "open",
        flow: str | None = None,
        token: Token = viewer,
    ) -> HTMLResponse:
        return await letters_page(request, token, state, flow or None)

    async def resolve(
        request: Request, token: Token, verb: str, letter: int, state: str
    ) -> Response:
        """Replay or discard `letter`; then the list: the replayed ones after a replay, where
        the letter shows whether it was delivered."""
        store = await holder.get()
        act = store.dead_letters.replay if verb == "replay" else store.dead_letters.discard
        done = await act([letter])
        then = "replayed" if verb == "replay" and done else state
        if "hx-request" not in request.headers:
            return RedirectResponse(f"/dead-letters?status={then}", status.HTTP_303_SEE_OTHER)
        notice = (
            f"Dead letter #{letter} {verb}ed."
            + (
                " It is back in its flow's journal; it shows delivered once written."
                if then == "replayed" and done
                else ""
            )
            if done
            else f"Dead letter #{letter} was not open: nothing was done."
        )
        return await letters_page(request, token, then, None, notice)

    @router.post("/dead-letters/{dead_letter_id}/replay")
    async def replay(
        request: Request,
        dead_letter_id: DeadLetterId,
        state: StatusFilter = "open",
        token: Token = operator,
    ) -> Response:
        return await resolve(request, token, "replay", dead_letter_id, state)

    @router.post("/dead-letters/{dead_letter_id}/discard")
    async def discard(
        request: Request,
        dead_letter_id: DeadLetterId,
        state: StatusFilter = "open",
        token: Token = operator,
    ) -> Response:
        return await resolve(request, token, "discard", dead_letter_id, state)

    @router.post("/analyse")
    async def analyse(request: Request, token: Token = operator) -> Response:
        await analyze(await holder.get(), workspace=workspace, window_s=86400.0)
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)

    return router


def _csrf(request: Request) -> str:
    """The session's CSRF token for the page's forms; empty without a session cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    return csrf_token(session) if session else ""
