"""Who may call the API: a token of a role (viewer < operator < admin).

A token comes as ``Authorization: Bearer <token>`` (scripts) or in the session cookie the
login form sets (people, in the dashboard): HttpOnly, Secure, SameSite=Strict. A route
declares the least role it needs with `Access.require(role)`. A request without a live token
gets 401 (with ``WWW-Authenticate: Bearer``); a token of too small a role, 403. Every attempt
is recorded with the token it matched, if any (store/tokens.py). The token's text never
reaches a log or an answer.

A cookie goes with every request the browser makes, whoever's page asked for it, so a
state-changing request that relies on the cookie must also carry the session's CSRF token
(the ``X-CSRF-Token`` header or a ``csrf`` form field): a hash of the session that only a
page of ours can read. A bearer header is never sent by a browser on its own: it needs none.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from syncwell.store import Role, Token, Tokens

__all__ = ["SESSION_COOKIE", "Access", "csrf_token"]

_BEARER = "bearer "
SESSION_COOKIE = "syncwell_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class Access:
    """Checks requests' tokens against the store.

    Args:
        tokens: the store's tokens, or a coroutine function that gives them (the store may
            open on first use).
    """

    def __init__(self, tokens: Tokens | Callable[[], Awaitable[Tokens]]) -> None:
        self._tokens = tokens

    def require(self, role: Role) -> Callable[[Request], Awaitable[Token]]:
        """A FastAPI dependency: the request's token, which may act as `role`."""

        async def allowed(request: Request) -> Token:
            presented, by_cookie = _presented(request)
            if presented is None:
                raise _unauthorized("no token: send Authorization: Bearer <token>, or log in")
            if by_cookie and request.method not in _SAFE_METHODS:
                await _check_csrf(request, presented)
            tokens = self._tokens if isinstance(self._tokens, Tokens) else await self._tokens()
            token = await tokens.check(presented, method=request.method, path=request.url.path)
            if token is None:
                raise _unauthorized("the token is unknown or revoked")
            if not token.allows(role):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail=f"this needs a {role} token; token {token.id} is a {token.role}",
                )
            return token

        return allowed


def csrf_token(session: str) -> str:
    """The CSRF token of a session: pages put it in their forms."""
    return hashlib.sha256(f"syncwell-csrf:{session}".encode()).hexdigest()[:32]


def _presented(request: Request) -> tuple[str | None, bool]:
    """The token the request carries, and whether it came in the cookie."""
    header = request.headers.get("authorization", "")
    if header[: len(_BEARER)].lower() == _BEARER and header[len(_BEARER) :].strip():
        return header[len(_BEARER) :].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


async def _check_csrf(request: Request, session: str) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(_FORMS):
        sent = str((await request.form()).get("csrf", ""))
    if not sent or not hmac.compare_digest(sent, csrf_token(session)):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="missing or wrong CSRF token: send the page's X-CSRF-Token with the cookie",
        )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )
