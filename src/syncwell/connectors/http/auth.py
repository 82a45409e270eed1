"""Signing requests in: fixed credentials, or an OAuth 2.0 token fetched and kept fresh."""

from __future__ import annotations

import asyncio
import base64
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from syncwell.connectors.http.settings import (
    ApiKeyAuth,
    Auth,
    BasicAuth,
    BearerAuth,
    OAuth2ClientCredentials,
)
from syncwell.errors import IntegrationFatalError, TransientError
from syncwell.types import Clock

__all__ = ["Authenticator", "Credentials", "OAuth2Auth", "TokenPost", "authenticator"]

TokenPost = Callable[[str, Mapping[str, str], Mapping[str, str]], Awaitable[httpx.Response]]
"""Sends a token request: (url, form fields, headers) -> the answer."""

_DEFAULT_LIFETIME_S = 3600.0  # when the token answer has no expires_in (RFC 6749 §5.1 allows it)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request carries to sign in, and which token it was (for a refresh after a 401)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    generation: int = 0


class Authenticator:
    """Credentials for each request; fixed ones cannot be refreshed."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self._credentials = credentials or Credentials()

    async def credentials(self) -> Credentials:
        """What the next request carries."""
        return self._credentials

    async def refresh(self, generation: int) -> bool:
        """Get fresh credentials after a 401 with those of `generation`; False if it cannot."""
        return False


class OAuth2Auth(Authenticator):
    """OAuth 2.0 client credentials: one token shared by every request, renewed before expiry.

    Concurrent requests wait for one token request, and a burst of 401s for one token renews
    it once: `refresh` only fetches when the failed request carried the current token.
    """

    def __init__(
        self, system: str, settings: OAuth2ClientCredentials, post: TokenPost, clock: Clock
    ) -> None:
        super().__init__()
        self._system = system
        self._settings = settings
        self._post = post
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._generation = 0

    async def credentials(self) -> Credentials:
        async with self._lock:
            if self._token is None or self._clock.now() >= self._renew_at:
                await self._fetch()
            return self._current()

    async def refresh(self, generation: int) -> bool:
        async with self._lock:
            if generation == self._generation:
                await self._fetch()
        return True

    def _current(self) -> Credentials:
        assert self._token is not None
        return Credentials({"Authorization": f"Bearer {self._token}"}, {}, self._generation)

    async def _fetch(self) -> None:
        settings = self._settings
        form = {"grant_type": "client_credentials", **settings.extra}
        if settings.scopes:
            form["scope"] = " ".join(settings.scopes)
        headers = {"Accept": "application/json"}
        secret = settings.client_secret.get_secret_value()
        if settings.credentials_in == "header":
            headers["Authorization"] = _basic(settings.client_id, secret)
        else:
            form |= {"client_id": settings.client_id, "client_secret": secret}
        started = self._clock.now()
        response = await self._post(settings.token_url, form, headers)
        token, lifetime = _token_of(response, settings.token_url, self._system)
        self._token = token
        self._generation += 1
        margin = min(settings.refresh_margin_s, lifetime / 2)
        self._renew_at = started + lifetime - margin


def _token_of(response: httpx.Response, url: str, system: str) -> tuple[str, float]:
    status = response.status_code
    where = f"the token endpoint {httpx.URL(url).path} answered {status}"
    if status in (408, 429) or status >= 500:
        raise TransientError(f"{where}; will try again", system=system)
    if not response.is_success:
        excerpt = " ".join(response.text[:200].split())
        raise IntegrationFatalError(
            f"{where}: {excerpt}; check client_id, client_secret and scopes under auth:",
            system=system,
        )
    try:
        body = response.json()
    except ValueError:  # not JSON
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(token, str) or not token:
        raise IntegrationFatalError(
            f"{where} without an access_token; check token_url", system=system
        )
    return token, _lifetime(body.get("expires_in"))


def _lifetime(value: object) -> float:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _DEFAULT_LIFETIME_S
    return float(value) if 0 < value < math.inf else _DEFAULT_LIFETIME_S


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def authenticator(system: str, auth: Auth | None, post: TokenPost, clock: Clock) -> Authenticator:
    """The authenticator the settings ask for; `post` sends token requests."""
    if isinstance(auth, BearerAuth):
        token = auth.token.get_secret_value()
        return Authenticator(Credentials({"Authorization": f"Bearer {token}"}))
    if isinstance(auth, BasicAuth):
        password = auth.password.get_secret_value()
        return Authenticator(Credentials({"Authorization": _basic(auth.username, password)}))
    if isinstance(auth, ApiKeyAuth):
        value = auth.prefix + auth.key.get_secret_value()
        if auth.header is not None:
            return Authenticator(Credentials({auth.header: value}))
        assert auth.query_param is not None
        return Authenticator(Credentials({}, {auth.query_param: value}))
    if isinstance(auth, OAuth2ClientCredentials):
        return OAuth2Auth(system, auth, post, clock)
    return Authenticator()
