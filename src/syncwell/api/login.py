"""The login form: a person pastes a token once and gets a session (store/sessions.py), whose
own secret the browser keeps in the session cookie (HttpOnly, Secure, SameSite=Strict), so
that pages need no header; the token itself is never put in a cookie. Logging out ends the
session in the store, so the old cookie no longer works anywhere, and clears it. A wrong
token gets the form again, with a 401 and the reason; too many from one address, a 429 and
when to try again (store/throttle.py), counted like wrong bearer tokens.

Logging in and out happen before there is a session to take a CSRF token from, so they
refuse a request another site's page sent instead (``Sec-Fetch-Site``, else ``Origin``):
that page could otherwise log a person out, or in with its own token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncwell.api import refusals
from syncwell.api.auth import SESSION_COOKIE, client_of
from syncwell.api.dashboard import PAGE_HEADERS, page_templates
from syncwell.store import Tokens

__all__ = ["SESSION_COOKIE", "login_router"]

_LOOPBACK = frozenset({"localhost", "::1", "[::1]"})


def login_router(tokens: Callable[[], Awaitable[Tokens]]) -> APIRouter:
    """`GET /login` (the form), `POST /login` (opens a session, sets its cookie), `POST /logout`
    (ends it).

    Args:
        tokens: a coroutine function giving the store's `Tokens`.
    """
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def form(request: Request, next: str = "/") -> HTMLResponse:
        return _form(request, _local(next))

    @router.post("/login")
    async def login(
        request: Request,
        token: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/",
    ) -> Response:
        _same_site(request)
        store = await tokens()
        client = client_of(request)
        wait_s = await store.throttle.wait_s(client)
        if wait_s:
            refusals.throttled("login")
            problem = f"Too many wrong tokens from your address: try again in {wait_s} s."
            return _form(request, _local(next), problem, 429, {"Retry-After": str(wait_s)})
        found = await store.check(token.strip(), method="POST", path=request.url.path)
        if found is None:
            refusals.failed("login")
            await store.throttle.failed(client)
            return _form(request, _local(next), "That token is unknown or revoked.", 401)
        replaced = request.cookies.get(SESSION_COOKIE)
        if replaced:  # logging in again over a session: the old one ends, not lingers
            await store.sessions.end(replaced)
        session = await store.sessions.open(found.id, found.role)
        answer = RedirectResponse(_local(next), status_code=status.HTTP_303_SEE_OTHER)
        answer.set_cookie(
            SESSION_COOKIE,
            session,
            # The browser may keep it as long as the session could last; the store ends it
            # sooner when it is left idle, logged out or its token revoked.
            max_age=int(store.sessions.policy.absolute_s),
            httponly=True,
            secure=True,
            samesite="strict",
        )
        return answer

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        _same_site(request)
        session = request.cookies.get(SESSION_COOKIE)
        if session:
            await (await tokens()).sessions.end(session)
        answer = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        answer.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="strict")
        return answer

    return router


def _same_site(request: Request) -> None:
    """Refuse a request another site's page made the browser send."""
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None:
        allowed = fetched_from in {"same-origin", "none"}  # none: typed, bookmarked
    else:  # an older browser: the Origin it sends, if any, must be this server
        origin = request.headers.get("origin")
        allowed = origin is None or urlsplit(origin).netloc == request.headers.get("host")
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Log in and out from syncwell's own page.")


def _insecure(request: Request) -> bool:
    """Whether the form came over plain HTTP from another machine: the browser will not keep
    the Secure cookie then (loopback counts as secure)."""
    host = request.url.hostname or ""
    return request.url.scheme == "http" and host not in _LOOPBACK and not host.startswith("127.")


def _form(
    request: Request,
    back_to: str,
    problem: str = "",
    code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return page_templates.TemplateResponse(
        request,
        "login.html",
        {"next": back_to, "problem": problem, "insecure": _insecure(request)},
        status_code=code,
        headers={**PAGE_HEADERS, **(headers or {})},
    )


def _local(path: str) -> str:
    """`path` if it is a page of this server, else the overview: a login link must not send
    the browser on to another site (an open redirect)."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
