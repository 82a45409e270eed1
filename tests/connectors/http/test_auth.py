"""Every auth style signs requests in; OAuth tokens renew before expiry and after a 401."""

from __future__ import annotations

from typing import Any

import pytest

from syncwell.errors import IntegrationFatalError
from syncwell.testing import FakeClock
from tests.connectors.http.api import ApiState, Fault
from tests.connectors.http.conftest import RecordingBudget, http_settings, ids, read_all, spec

OAUTH = {
    "type": "oauth2_client_credentials",
    "token_url": "/oauth/token",
    "client_id": "cid",
    "client_secret": "cs",
    "scopes": ["crm.read", "crm.write"],
}
STYLES = {
    "bearer": {"type": "bearer", "token": "s3cret"},
    "header": {"type": "api_key", "header": "X-Api-Key", "key": "k3y"},
    "query": {"type": "api_key", "query_param": "api_key", "key": "k3y"},
    "basic": {"type": "basic", "username": "ann", "password": "pw"},
    "oauth": OAUTH,
}
WRONG = {
    "bearer": {"token": "nope"},
    "header": {"key": "nope"},
    "query": {"key": "nope"},
    "basic": {"password": "nope"},
    "oauth": {"client_secret": "nope"},
}


def settings_for(base_url: str, style: str, auth: dict[str, Any]) -> Any:
    read = {"path": f"/secure/{style}/items", "records": "results"}
    return http_settings(base_url, auth=auth, streams={"contacts": {"read": read}})


@pytest.mark.parametrize("style", list(STYLES))
async def test_each_style_signs_in(
    style: str, api: ApiState, server_url: str, source_for: Any
) -> None:
    """With the right credentials the API answers; the secret travels where it should."""
    api.reset(contacts=3)
    source = await source_for(settings_for(server_url, style, STYLES[style]))
    assert len(ids(await read_all(source, spec()))) == 3


@pytest.mark.parametrize("style", list(STYLES))
async def test_wrong_credentials_are_fatal(
    style: str, api: ApiState, server_url: str, source_for: Any
) -> None:
    """Wrong credentials are an IntegrationFatalError that says to check them."""
    source = await source_for(settings_for(server_url, style, {**STYLES[style], **WRONG[style]}))
    with pytest.raises(IntegrationFatalError, match="401") as caught:
        await read_all(source, spec())
    assert "check" in str(caught.value) and "nope" not in str(caught.value)


async def test_oauth_token_is_fetched_once_and_sent_as_bearer(
    api: ApiState, server_url: str, source_for: Any, budget: RecordingBudget
) -> None:
    """One token serves many requests; its request carries the grant, client and scopes."""
    source = await source_for(settings_for(server_url, "oauth", OAUTH))
    for _ in range(3):
        await read_all(source, spec())
    (token_request,) = api.seen("/oauth/token")
    assert "grant_type=client_credentials" in token_request.body
    assert "scope=crm.read+crm.write" in token_request.body
    assert {r.headers["authorization"] for r in api.seen("/secure")} == {"Bearer tok-1"}
    assert budget.acquired == 4  # the token request spends the budget too


async def test_oauth_token_renews_before_it_expires(
    api: ApiState, server_url: str, source_for: Any, clock: FakeClock
) -> None:
    """Within the refresh margin of its expiry a token is replaced before the next request."""
    api.token_lifetime = 600
    source = await source_for(settings_for(server_url, "oauth", OAUTH))
    await read_all(source, spec())
    clock.advance(600 - 60 - 1)
    await read_all(source, spec())
    assert len(api.seen("/oauth/token")) == 1
    clock.advance(2)
    await read_all(source, spec())
    assert len(api.seen("/oauth/token")) == 2
    assert api.seen("/secure")[-1].headers["authorization"] == "Bearer tok-2"
    assert all(r.headers["authorization"] != "Bearer tok-1" for r in api.seen("/secure")[2:])


async def test_oauth_401_renews_and_retries_once(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """A token revoked early earns one 401; the request goes again with a fresh token."""
    api.reset(contacts=3)
    source = await source_for(settings_for(server_url, "oauth", OAUTH))
    await read_all(source, spec())
    api.tokens["tok-1"] = False
    assert len(ids(await read_all(source, spec()))) == 3
    auths = [r.headers["authorization"] for r in api.seen("/secure")]
    assert auths == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


async def test_oauth_401_after_renewal_is_fatal(
    api: ApiState, server_url: str, source_for: Any
) -> None:
    """When even a fresh token is refused, the read fails for good after one retry."""
    source = await source_for(settings_for(server_url, "oauth", OAUTH))
    await read_all(source, spec())
    api.faults.append(Fault("/secure", 401, {"message": "revoked"}, times=2))
    with pytest.raises(IntegrationFatalError, match="401"):
        await read_all(source, spec())
    assert len(api.seen("/secure")) == 3 and len(api.seen("/oauth/token")) == 2
