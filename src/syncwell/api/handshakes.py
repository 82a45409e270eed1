"""Subscription handshakes: the answers some senders want before they send events.

Each answer carries back only what the sender itself sent, so it can't leak anything of
syncwell's; and each is given only where the system's `handshake:` asks for it. A challenge is
answered as plain text with `nosniff`, so an echoed value can never be read as a page.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from syncwell.engine.inbound import at
from syncwell.workspace.webhook_handshakes import (
    BodyChallenge,
    EchoHeader,
    Handshake,
    QueryChallenge,
)
from syncwell.workspace.webhooks import WebhookIntake

__all__ = ["answer_challenge", "answer_echo", "answer_query"]

_MAX_ECHO = 1024  # longer than any sender's challenge; a longer one is not a handshake


def answer_echo(handshake: Handshake | None, request: Request) -> Response | None:
    """For `echo_header`: a request carrying the header gets it back, and nothing is taken.

    Asana sends ``X-Hook-Secret`` once, on an empty POST, and wants it back with a 200.
    """
    if not isinstance(handshake, EchoHeader):
        return None
    value = request.headers.get(handshake.header)
    if value is None:
        return None
    if not value or len(value) > _MAX_ECHO:
        return _refuse(400, f"{handshake.header} must be 1 to {_MAX_ECHO} characters")
    return Response(status_code=200, headers={handshake.header: value})


def answer_query(handshake: Handshake | None, request: Request) -> Response:
    """A GET or HEAD: for `query`, the challenge once the token matches; else nothing to see.

    Trello checks a new webhook URL with a HEAD and wants a 200; that is always given.
    """
    if request.method == "HEAD":
        return Response(status_code=200)
    if not isinstance(handshake, QueryChallenge):
        return _refuse(405, "webhooks are POSTed; this system's `handshake:` takes no GET")
    challenge = request.query_params.get(handshake.param)
    if challenge is None or not challenge or len(challenge) > _MAX_ECHO:
        return _refuse(400, f"a handshake GET must carry ?{handshake.param}=<value>")
    if handshake.token_param is not None:
        assert handshake.token is not None  # the settings refuse a token_param without one
        sent = request.query_params.get(handshake.token_param, "")
        expected = handshake.token.get_secret_value()
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            return _refuse(403, f"{handshake.token_param} does not match the configured token")
    if handshake.reply == "json":
        return JSONResponse({handshake.param: challenge})
    return _plain(challenge)


def answer_challenge(intake: WebhookIntake, document: object) -> Response | None:
    """For `challenge`: a verified event of the handshake's type is answered, not taken."""
    handshake = intake.handshake
    if not isinstance(handshake, BodyChallenge) or not isinstance(document, dict):
        return None
    if at(document, intake.event_type) != handshake.type:
        return None
    challenge = at(document, handshake.field)
    if not isinstance(challenge, str) or not challenge or len(challenge) > _MAX_ECHO:
        return _refuse(400, f"a {handshake.type} event must carry '{handshake.field}' as text")
    return _plain(challenge)


def _plain(text: str) -> Response:
    return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff"})


def _refuse(status: int, reason: str) -> Response:
    return JSONResponse({"error": reason}, status_code=status)
