"""The login form: a person pastes a token once and the browser keeps it in the session
cookie (HttpOnly, Secure, SameSite=Strict), so that pages need no header. Logging out clears
it. A wrong token gets the form again, with a 401 and the reason."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from syncwell.api.auth import SESSION_COOKIE
from syncwell.store import Tokens

__all__ = ["login_router"]

_WEEK_S = 7 * 86400

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>syncwell: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 28rem; margin: 4rem auto">
<h1>syncwell</h1>
<p>Paste a token from <code>syncwell token create --role viewer</code>.</p>
{problem}
<form method="post" action="/login">
<label>Token <input type="password" name="token" autocomplete="off" required
 style="width: 100%"></label>
<p><button type="submit">Log in</button></p>
</form></body></html>
"""


def login_router(tokens: Callable[[], Awaitable[Tokens]]) -> APIRouter:
    """`GET /login` (the form), `POST /login` (sets the cookie), `POST /logout`.

    Args:
        tokens: a coroutine function giving the store's `Tokens`.
    """
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def form() -> HTMLResponse:
        return HTMLResponse(_PAGE.format(problem=""))

    @router.post("/login")
    async def login(request: Request, token: Annotated[str, Form()]) -> Response:
        found = await (await tokens()).check(token.strip(), method="POST", path=request.url.path)
        if found is None:
            problem = f"<p role='alert'>{html.escape('That token is unknown or revoked.')}</p>"
            return HTMLResponse(_PAGE.format(problem=problem), status_code=401)
        answer = RedirectResponse("/", status_code=status.HTTP_303_SEE_OTHER)
        answer.set_cookie(
            SESSION_COOKIE,
            token.strip(),
            max_age=_WEEK_S,
            httponly=True,
            secure=True,
            samesite="strict",
        )
        return answer

    @router.post("/logout")
    async def logout() -> Response:
        answer = RedirectResponse("/login", status_code=status.HTTP_303_SEE_OTHER)
        answer.delete_cookie(SESSION_COOKIE, httponly=True, secure=True, samesite="strict")
        return answer

    return router
