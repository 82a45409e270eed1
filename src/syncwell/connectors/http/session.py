"""Every request of an http system passes here: budget, credentials, learning, error mapping.

One httpx client per opened source or destination, with the system's timeouts and connection
limit. Before each request (token requests too) the system's budget is spent; after each
answer its rate-limit headers teach the budget. A 401 renews an OAuth token and sends the
request once more.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from syncwell.connectors.http.auth import Credentials, authenticator
from syncwell.connectors.http.call import Call
from syncwell.connectors.http.errors import Outcome, check, translated
from syncwell.connectors.http.records import dumps
from syncwell.connectors.http.settings import Settings
from syncwell.connectors.rate_limit_headers import RateLimitInfo, parse_rate_limit
from syncwell.errors import RecordRejectedError
from syncwell.types import Clock, RequestBudget

__all__ = ["Answer", "Session"]

Answer = tuple[httpx.Response, Outcome]


class Session:
    """The system's HTTP client, as its source or destination uses it.

    Args:
        name: the system's name, for errors.
        settings: the system's settings.
        budget: the system's shared request budget; None sends without waiting.
        clock: where time comes from (token expiry, HTTP dates in Retry-After).
    """

    def __init__(
        self, name: str, settings: Settings, budget: RequestBudget | None, clock: Clock
    ) -> None:
        self.name = name
        self.settings = settings
        self._budget = budget
        self._clock = clock
        self._client = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={
                "User-Agent": "syncwell",
                "Accept": "application/json",
                **settings.headers,
            },
            timeout=httpx.Timeout(settings.timeout_s),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            follow_redirects=False,  # a redirect means a wrong base_url; errors.py says so
        )
        self._auth = authenticator(name, settings.auth, self._post_token, clock)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, call: Call) -> Answer:
        """Send `call` and say whether it counts as done.

        Raises:
            ConnectorError: the subclass the answer (or the failure to get one) stands for.
        """
        content = self._content(call)
        credentials = await self._auth.credentials()
        response, info = await self._exchange(call, content, credentials)
        if response.status_code == 401 and await self._auth.refresh(credentials.generation):
            fresh = await self._auth.credentials()
            response, info = await self._exchange(call, content, fresh)
        outcome = check(
            response,
            call,
            self.settings.errors,
            system=self.name,
            retry_after=_retry_after(info),
        )
        return response, outcome

    async def _exchange(
        self, call: Call, content: bytes | None, credentials: Credentials
    ) -> tuple[httpx.Response, RateLimitInfo]:
        await self._spend()
        headers = {**call.headers, **credentials.headers}
        if content is not None:
            headers["Content-Type"] = "application/json"
        with translated(call, system=self.name, timeout_s=self.settings.timeout_s):
            url = httpx.URL(call.url)
            params = {**call.params, **credentials.params}
            if params:  # merged by hand: httpx's `params=` would replace a next link's query
                url = url.copy_merge_params(params)
            response = await self._client.request(
                call.method, url, content=content, headers=headers
            )
        info = parse_rate_limit(response.headers, self._clock.wall())
        self._learn(info)
        return response, info

    async def _post_token(
        self, url: str, form: Mapping[str, str], headers: Mapping[str, str]
    ) -> httpx.Response:
        await self._spend()
        call = Call("POST", url, "read")
        with translated(call, system=self.name, timeout_s=self.settings.timeout_s):
            return await self._client.post(url, data=dict(form), headers=dict(headers))

    async def _spend(self) -> None:
        if self._budget is not None:
            await self._budget.acquire()

    def _learn(self, info: RateLimitInfo) -> None:
        if self._budget is None or info.empty:
            return
        if info.retry_after_s is not None:
            self._budget.pause_for(info.retry_after_s)
        if info.limit is not None or info.remaining is not None:
            self._budget.learn(
                info.limit, info.remaining, info.reset_after_s, window_s=info.window_s
            )

    def _content(self, call: Call) -> bytes | None:
        if call.body is None:
            return None
        try:
            return dumps(call.body)
        except (TypeError, ValueError, RecursionError) as error:
            # NaN or infinity has no JSON form: the record cannot be sent as it is.
            reason = f"the record cannot be written as JSON: {error}"
            raise RecordRejectedError(
                reason, system=self.name, key=call.key, reason=reason
            ) from error


def _retry_after(info: RateLimitInfo) -> float | None:
    """How long the answer asked us to wait: Retry-After, or the reset of an empty window."""
    if info.retry_after_s is not None:
        return info.retry_after_s
    if info.remaining == 0:
        return info.reset_after_s
    return None
