"""Handshake answers, request by request: each sender gets back exactly what it sent, in the
form it wants, and only where the system's `handshake:` asks for it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request

from syncwell.api.handshakes import answer_challenge, answer_echo, answer_query
from syncwell.workspace.webhooks import WebhookIntake


def _request(method: str, query: dict[str, str] | None = None, **headers: str) -> Request:
    scope = {
        "type": "http",
        "method": method,
        "path": "/hooks/crm",
        "query_string": urlencode(query or {}).encode(),
        "headers": [(k.replace("_", "-").lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


def _intake(handshake: dict[str, object] | None) -> WebhookIntake:
    return WebhookIntake.model_validate(
        {
            "auth": {"kind": "none", "unsigned": True},
            "streams": {"*": "contacts"},
            "handshake": handshake,
        }
    )


def test_strava_gets_its_challenge_back_as_json() -> None:
    """`reply: json` answers {"hub.challenge": value}, once the verify token matches."""
    handshake = _intake({"kind": "query", "token": "vt", "reply": "json"}).handshake
    query = {"hub.mode": "subscribe", "hub.challenge": "15f7d1a9", "hub.verify_token": "vt"}
    answer = answer_query(handshake, _request("GET", query))
    assert answer.status_code == 200
    assert json.loads(bytes(answer.body)) == {"hub.challenge": "15f7d1a9"}


def test_dropbox_and_websub_send_no_token() -> None:
    """`token_param: null`: the challenge alone is echoed, as plain text with nosniff."""
    handshake = _intake({"kind": "query", "param": "challenge", "token_param": None}).handshake
    answer = answer_query(handshake, _request("GET", {"challenge": "abc"}))
    assert answer.status_code == 200 and bytes(answer.body) == b"abc"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_get_without_a_query_handshake_or_without_its_value_is_a_4xx() -> None:
    """GET where no `query` handshake is configured: 405; without the param: 400."""
    assert answer_query(None, _request("GET")).status_code == 405
    handshake = _intake({"kind": "query", "token": "vt"}).handshake
    assert answer_query(handshake, _request("GET", {"hub.verify_token": "vt"})).status_code == 400
    assert answer_query(None, _request("HEAD")).status_code == 200  # Trello's URL check


def test_echo_header_only_when_configured_and_sent() -> None:
    """Asana's X-Hook-Secret comes back; another system, or a request without it, is no
    handshake; an over-long value is a 400."""
    echo = _intake({"kind": "echo_header"}).handshake
    answer = answer_echo(echo, _request("POST", X_Hook_Secret="s3"))
    assert answer is not None and answer.headers["x-hook-secret"] == "s3"
    assert answer_echo(None, _request("POST", X_Hook_Secret="s3")) is None
    assert answer_echo(echo, _request("POST")) is None
    long = answer_echo(echo, _request("POST", X_Hook_Secret="x" * 2000))
    assert long is not None and long.status_code == 400


def test_a_challenge_event_of_another_type_is_an_event() -> None:
    """Only the handshake's type is answered; other events go on to be taken."""
    intake = _intake({"kind": "challenge"})
    handshake = {"type": "url_verification", "challenge": "c1"}
    answered = answer_challenge(intake, handshake)
    assert answered is not None and bytes(answered.body) == b"c1"
    assert answer_challenge(intake, {"type": "event_callback", "challenge": "c1"}) is None
    missing = answer_challenge(intake, {"type": "url_verification"})
    assert missing is not None and missing.status_code == 400
