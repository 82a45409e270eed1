"""The dashboard's routes: the overview (map, constraint, integrations), a page per
integration, the incidents, and the dead letters with replay and discard.

A page needs a viewer's token, like the REST API: the session cookie the login form sets,
or a bearer header. Without one, a page sends the browser to the login form and back (an
htmx refresh, by ``HX-Redirect``). Replay, discard and a new analysis need an operator; their
forms carry the session's CSRF token (api/auth.py). Each page holds its live part in
``#live``, which htmx fetches again every 10 s and swaps in place: the page refreshes
without a reload. Errors on these routes are pages too, not JSON.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from syncwell.analyze import analyze
from syncwell.api.auth import SESSION_COOKIE, Access, csrf_token
from syncwell.api.dashboard import views
from syncwell.api.dashboard.format import FILTERS
from syncwell.api.dashboard.windows import SINCE_START, Choice
from syncwell.api.rest import DeadLetterId, StoreHolder
from syncwell.store import Role, Token
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

Shown = Literal["open", "replayed", "discarded", "all"]
ShownParam = Annotated[Shown, Query(alias="status")]
"""Which dead letters a list shows: ``?status=``."""
_NOT_PAGES = ("/api/", "/metrics", "/hooks/", "/static/")


class LoginRequired(Exception):  # noqa: N818 - not an error: the browser goes to the form
    """A page was asked for without a live token: the browser goes to the login form."""

    def __init__(self, back_to: str, *, htmx: bool) -> None:
        super().__init__(back_to)
        self.back_to = back_to
        self.htmx = htmx


def install_dashboard(app: FastAPI, workspace: Workspace, holder: StoreHolder) -> None:
    """Add the dashboard's pages, its static files, the login redirect and its error pages
    to `app`."""
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    access = Access(holder.tokens)
    site = _Site(
        workspace,
        holder,
        Depends(_page_access(access, "viewer")),
        Depends(_page_access(access, "operator")),
    )
    router = APIRouter(include_in_schema=False)
    _read_pages(router, site)
    _dead_letter_pages(router, site)
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _to_login)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    app.add_exception_handler(RequestValidationError, _error_page)


@dataclass(frozen=True, slots=True)
class _Site:
    """What every page needs: the workspace, its store, who may see and who may act."""

    workspace: Workspace
    holder: StoreHolder
    viewer: Any
    """The dependency giving a viewer's token (a default value: see `_read_pages`)."""
    operator: Any

    def render(self, request: Request, token: Token, page: str, **context: Any) -> HTMLResponse:
        """`page` for `token`, with what the layout shows on every page."""
        query = f"?{request.url.query}" if request.url.query else ""
        context.setdefault("live_url", request.url.path + query)
        return page_templates.TemplateResponse(
            request,
            page,
            {
                "workspace": self.workspace.name,
                "token": token,
                "operator": token.allows("operator"),
                "csrf": _csrf(request),
                "integrations": list(self.workspace.integrations()),
                "now": time.time(),
                **context,
            },
            headers=PAGE_HEADERS,
        )


def _read_pages(router: APIRouter, site: _Site) -> None:
    # Dependencies are defaults, not Annotated aliases: the annotations are strings (PEP 563)
    # that FastAPI resolves in the module's globals, where a local alias is not found.
    @router.get("/", response_class=HTMLResponse)
    async def overview(request: Request, token: Token = site.viewer) -> HTMLResponse:
        view = await views.overview_view(await site.holder.get(), site.workspace)
        return site.render(request, token, "overview.html", view=view, nav="overview")

    @router.get("/integrations/{name}", response_class=HTMLResponse)
    async def integration(
        request: Request, name: str, window: Choice = SINCE_START, token: Token = site.viewer
    ) -> HTMLResponse:
        store = await site.holder.get()
        view = await views.integration_view(store, site.workspace, name, window)
        if view is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no integration {name!r}.")
        return site.render(request, token, "integration.html", view=view, nav=name)

    @router.get("/incidents", response_class=HTMLResponse)
    async def incidents(
        request: Request, window: Choice = SINCE_START, token: Token = site.viewer
    ) -> HTMLResponse:
        view = await views.incidents_view(await site.holder.get(), site.workspace, window)
        return site.render(request, token, "incidents.html", view=view, nav="incidents")

    @router.post("/analyse")
    async def analyse(token: Token = site.operator) -> Response:
        await analyze(await site.holder.get(), workspace=site.workspace, window_s=86400.0)
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


def _dead_letter_pages(router: APIRouter, site: _Site) -> None:
    async def listing(
        request: Request, token: Token, shown: Shown, flow: str | None, notice: str = ""
    ) -> HTMLResponse:
        store = await site.holder.get()
        view = await views.dead_letters_view(store, shown=shown, flow=flow)
        return site.render(
            request,
            token,
            "dead_letters.html",
            view=view,
            nav="dead-letters",
            notice=notice,
            flows=list(site.workspace.flows),
            live_url=_letters_url(shown, flow),
        )

    @router.get("/dead-letters", response_class=HTMLResponse)
    async def dead_letters(
        request: Request,
        shown: ShownParam = "open",
        flow: str | None = None,
        token: Token = site.viewer,
    ) -> HTMLResponse:
        return await listing(request, token, shown, flow or None)

    @router.post("/dead-letters/{dead_letter_id}/{verb}")
    async def resolve(
        request: Request,
        dead_letter_id: DeadLetterId,
        verb: Literal["replay", "discard"],
        shown: ShownParam = "open",
        flow: str | None = None,
        token: Token = site.operator,
    ) -> Response:
        """Replay or discard a letter; then the list it is in now: after a replay, the
        replayed ones, where it shows whether it was delivered."""
        letters = (await site.holder.get()).dead_letters
        done = await (letters.replay if verb == "replay" else letters.discard)([dead_letter_id])
        then: Shown = "replayed" if done and verb == "replay" else shown
        if "hx-request" not in request.headers:
            return RedirectResponse(_letters_url(then, flow), status.HTTP_303_SEE_OTHER)
        notice = _resolved_notice(dead_letter_id, verb, done=bool(done))
        answer = await listing(request, token, then, flow or None, notice)
        answer.headers["HX-Push-Url"] = _letters_url(then, flow)
        return answer


def _resolved_notice(letter: int, verb: str, *, done: bool) -> str:
    if not done:
        return f"Dead letter #{letter} was not open: nothing was done."
    if verb == "replay":
        return (
            f"Dead letter #{letter} replayed: it is back in its flow's journal, "
            "and shows delivered here once written."
        )
    return f"Dead letter #{letter} discarded."


def _letters_url(shown: str, flow: str | None) -> str:
    return "/dead-letters?" + urlencode({"status": shown, **({"flow": flow} if flow else {})})


def _page_access(access: Access, role: Role) -> Callable[[Request], Awaitable[Token]]:
    check = access.require(role)

    async def allowed(request: Request) -> Token:
        try:
            return await check(request)
        except HTTPException as refused:
            if refused.status_code == status.HTTP_401_UNAUTHORIZED and request.method == "GET":
                back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(back, htmx="hx-request" in request.headers) from None
            raise

    return allowed


async def _to_login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"/login?next={quote(exc.back_to)}"
    if exc.htmx:  # a refresh of an open page whose session ended: the whole page goes
        return Response(status_code=status.HTTP_401_UNAUTHORIZED, headers={"HX-Redirect": target})
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)


async def _error_page(request: Request, exc: Exception) -> Response:
    """An error of a page as a page (an htmx request swaps it in); of the API, as JSON."""
    wants_page = "text/html" in request.headers.get("accept", "") or (
        "hx-request" in request.headers
    )
    if request.url.path.startswith(_NOT_PAGES) or not wants_page:
        if isinstance(exc, RequestValidationError):
            return await request_validation_exception_handler(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        return await http_exception_handler(request, exc)
    if isinstance(exc, RequestValidationError):
        code, detail = status.HTTP_422_UNPROCESSABLE_CONTENT, _invalid(exc)
    else:
        assert isinstance(exc, StarletteHTTPException)
        code, detail = exc.status_code, str(exc.detail)
    return page_templates.TemplateResponse(
        request,
        "error.html",
        {"code": code, "detail": detail},
        status_code=code,
        headers={**PAGE_HEADERS, **(getattr(exc, "headers", None) or {})},
    )


def _invalid(exc: RequestValidationError) -> str:
    problems = [f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in exc.errors()]
    return "This address has a value the page does not take: " + "; ".join(problems)


def _csrf(request: Request) -> str:
    """The session's CSRF token for the page's forms; empty without a session cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    return csrf_token(session) if session else ""
