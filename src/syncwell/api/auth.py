"""Who may call the API: a token of a role (viewer < operator < admin).

Scripts send a token as ``Authorization: Bearer <token>``. People log in to the dashboard
with one once (api/login.py) and get a session of their own in a cookie (HttpOnly, Secure,
SameSite=Strict): a separate, revocable secret, never the token (store/sessions.py). A route
declares the least role it needs with `Access.require(role)`. A request without a live token
or session gets 401 (with ``WWW-Authenticate: Bearer``); one of too small a role, 403. Every
attempt checked is recorded with the token it matched, if any (store/tokens.py). Neither a
token's text nor a session's reaches a log or an answer.

Guessing is slowed down per client (store/throttle.py): after too many wrong tokens or
sessions from one address in a window, that address gets 429 with ``Retry-After`` until the
window ends, a right token included, before anything is checked or recorded. A request that
presents no credential at all is no guess and counts for nothing.

A cookie goes with every request the browser makes, whoever's page asked for it, so a
state-changing request that relies on the cookie must also carry the session's CSRF token
(the ``X-CSRF-Token`` header or a ``csrf`` form field): a hash of the session that only a
page of ours can read. A bearer header is never sent by a browser on its own: it needs none.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from syncwell.api import refusals
from syncwell.store import Role, Token, Tokens

__all__ = ["SESSION_COOKIE", "Access", "client_of", "csrf_token", "too_many"]

_BEARER = "bearer "
SESSION_COOKIE = "syncwell_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class Access:
    """Checks requests' tokens and sessions against the store.

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
            tokens = self._tokens if isinstance(self._tokens, Tokens) else await self._tokens()
            via: refusals.Via = "session" if by_cookie else "bearer"
            client = client_of(request)
            wait_s = await tokens.throttle.wait_s(client)
            if wait_s:
                refusals.throttled(via)
                raise too_many(wait_s)
            if by_cookie and request.method not in _SAFE_METHODS:
                await _check_csrf(request, presented)
            check = tokens.check_session if by_cookie else tokens.check
            token = await check(presented, method=request.method, path=request.url.path)
            if token is None:
                refusals.failed(via)
                await tokens.throttle.failed(client)
                raise _unauthorized(
                    "the session ended: log in again"
                    if by_cookie
                    else "the token is unknown or revoked"
                )
            if not token.allows(role):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail=f"this needs a {role} token; token {token.id} is a {token.role}",
                )
            return token

        return allowed


def client_of(request: Request) -> str:
    """Whom the throttle counts a request against: its client's address, an IPv6 one by its
    /64 (one machine's usual share, which it may fill with addresses at will).

    Behind a reverse proxy every client is the proxy, unless the server trusts the proxy's
    ``X-Forwarded-For``: uvicorn does for a proxy on loopback, and for the addresses in
    ``FORWARDED_ALLOW_IPS`` (docs/api.md).
    """
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"  # a unix socket, or a test client's name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def too_many(wait_s: int) -> HTTPException:
    """The 429 of a throttled client, which says when to try again."""
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=f"too many failed attempts from this address: try again in {wait_s} s",
        headers={"Retry-After": str(wait_s)},
    )


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
