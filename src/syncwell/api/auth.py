"""Who may call the API: a bearer token of a role (viewer < operator < admin).

A route declares the least role it needs with `Access.require(role)`. A request without a
live token gets 401 (with ``WWW-Authenticate: Bearer``); a token of too small a role, 403.
Every attempt is recorded with the token it matched, if any (store/tokens.py). The token's
text never reaches a log or an answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, status

from syncwell.store import Role, Token, Tokens

__all__ = ["Access"]

_BEARER = "bearer "


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
            presented = _presented(request)
            if presented is None:
                raise _unauthorized("no token: send Authorization: Bearer <token>")
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


def _presented(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[: len(_BEARER)].lower() == _BEARER and header[len(_BEARER) :].strip():
        return header[len(_BEARER) :].strip()
    return None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )
