"""`webhooks:` settings: the old spelling still loads, the new `auth:` kinds validate, and each
mistake is reported at its line with the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from syncwell.workspace import parse_workspace
from syncwell.workspace.webhook_auth import (
    BasicAuth,
    HeaderAuth,
    HmacAuth,
    NoAuth,
    PathAuth,
    PresetAuth,
    SchemeAuth,
)
from syncwell.workspace.webhook_handshakes import EchoHeader, QueryChallenge
from syncwell.workspace.webhooks import WebhookIntake, webhook_warnings
from tests.workspace.conftest import Problems

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _workspace(webhooks: str) -> str:
    body = textwrap.indent(textwrap.dedent(webhooks).strip("\n"), " " * 6)
    return f"""
systems:
  crm:
    kind: sqlite
    path: crm.db
    webhooks:
{body}
  core: {{kind: sqlite, path: core.db}}
core: core
flows:
  contacts:
    source: crm
    destination: core
    stream: contacts
    key: email
    cursor: updated_at
    mode: realtime
"""


def _intake(tmp_path: Path, webhooks: str) -> WebhookIntake:
    text = textwrap.dedent(_workspace(webhooks)).lstrip("\n")
    intake = parse_workspace(text, "syncwell.yaml", tmp_path, env={}).systems["crm"].webhooks
    assert intake is not None
    return intake


def test_the_first_spelling_still_loads_as_a_scheme(tmp_path: Path) -> None:
    """`scheme:` and `secret:` (or `secrets:`) at the top of webhooks: mean `auth:`."""
    old = _intake(tmp_path, "scheme: github\nsecrets: [a, b]\nstreams: {'*': contacts}")
    assert old.auth == SchemeAuth(kind="github", secrets=("a", "b"))  # type: ignore[arg-type]
    default = _intake(tmp_path, f"secret: {WHSEC}\nstreams: {{'*': contacts}}")
    assert isinstance(default.auth, SchemeAuth) and default.auth.kind == "standard"


def test_each_auth_kind_loads_into_its_own_model(tmp_path: Path) -> None:
    """The union is told apart by `kind`, one model per way of proving a request."""
    cases = {
        "{kind: header, header: X-Gitlab-Token, secret: t0ken}": HeaderAuth,
        "{kind: basic, username: hook, password: pw}": BasicAuth,
        "{kind: path, secret: abcdefghijklmnopqrstuvwxyz}": PathAuth,
        "{kind: hmac, header: X-Sig, algorithm: sha512, encoding: base64, secret: s}": HmacAuth,
        "{kind: shopify, secret: s}": PresetAuth,
        "{kind: none, unsigned: true}": NoAuth,
    }
    for auth, model in cases.items():
        intake = _intake(tmp_path, f"auth: {auth}\nstreams: {{'*': contacts}}")
        assert type(intake.auth) is model, auth


def test_handshakes_load(tmp_path: Path) -> None:
    """`handshake:` is a union by kind too, with the senders' defaults."""
    echo = _intake(
        tmp_path,
        "auth: {kind: none, unsigned: true}\nstreams: {'*': contacts}\n"
        "handshake: {kind: echo_header}",
    )
    assert echo.handshake == EchoHeader(kind="echo_header", header="X-Hook-Secret")
    query = _intake(
        tmp_path,
        "auth: {kind: none, unsigned: true}\nstreams: {'*': contacts}\n"
        "handshake: {kind: query, token: abc}",
    )
    assert isinstance(query.handshake, QueryChallenge) and query.handshake.param == "hub.challenge"


@pytest.mark.parametrize(
    ("webhooks", "key", "hint"),
    [
        (
            "scheme: github\nsecret: x\nauth: {kind: none, unsigned: true}\nstreams: {a: b}",
            "webhooks",
            "keep `auth:` alone",
        ),
        ("auth: {kind: none}\nstreams: {a: b}", "unsigned", "is required"),
        ("streams: {a: b}", "webhooks", "auth: {kind:"),
        ("auth: {kind: none, unsigned: false}\nstreams: {a: b}", "unsigned", "True"),
        ("auth: {kind: sha256}\nstreams: {a: b}", "auth", "kind"),
        ("auth: {kind: path, secret: short}\nstreams: {a: b}", "secrets", "token_urlsafe"),
        (
            "auth: {kind: hmac, header: X-S, secret: s, signed: '{timestamp}{body}'}\n"
            "streams: {a: b}",
            "auth",
            "timestamp_header",
        ),
        (
            "auth: {kind: hmac, header: X-S, secret: s, signed: '{timestamp}'}\nstreams: {a: b}",
            "auth",
            "leaves out {body}",
        ),
        (
            "auth: {kind: hmac, header: X-S, secret: s, signed: '{body}{path}'}\nstreams: {a: b}",
            "auth",
            "{method}",
        ),
        ("auth: {kind: trello, secret: s}\nstreams: {a: b}", "auth", "set `url:`"),
        ("auth: {kind: header, header: 'X Bad', secret: s}\nstreams: {a: b}", "header", "header"),
        ("auth: {kind: header, header: X-T, secret: ''}\nstreams: {a: b}", "secrets", "empty"),
        ("secret: nope\nstreams: {a: b}", "auth", "whsec_"),
        (
            "auth: {kind: hmac, header: X, secret: s, algoritm: sha1}\nstreams: {a: b}",
            "auth.hmac.algoritm",
            "did you mean 'algorithm'",
        ),
        (
            "auth: {kind: none, unsigned: true}\nstreams: {a: b}\n"
            "handshake: {kind: query, tokn: x}",
            "handshake.query.tokn",
            "did you mean 'token'",
        ),
        (
            "auth: {kind: none, unsigned: true}\nstreams: {a: b}\nhandshake: {kind: query}",
            "handshake",
            "token_param: null",
        ),
    ],
)
def test_mistakes_name_their_line_and_fix(
    problems: Problems, webhooks: str, key: str, hint: str
) -> None:
    """Each mistake is one problem under systems.crm.webhooks with a hint that says the fix."""
    (problem,) = problems(_workspace(webhooks))
    assert problem.key is not None and problem.key.startswith("systems.crm.webhooks")
    assert key in problem.key
    assert hint in str(problem), str(problem)


def test_unsigned_intake_is_warned_about(tmp_path: Path) -> None:
    """`check` says loudly that an unsigned system lets anyone write; a signed one is quiet."""
    unsigned = _intake(tmp_path, "auth: {kind: none, unsigned: true}\nstreams: {'*': contacts}")
    (warning,) = webhook_warnings("crm", unsigned)
    assert "UNSIGNED" in warning and "/hooks/crm" in warning
    signed = _intake(tmp_path, "auth: {kind: gitlab, secret: s}\nstreams: {'*': contacts}")
    assert webhook_warnings("crm", signed) == []


def test_check_lists_the_unsigned_warning_with_the_flows(tmp_path: Path) -> None:
    """`syncwell check` prints workspace_warnings: the unsigned system is among them."""
    from syncwell.workspace import workspace_warnings

    text = textwrap.dedent(
        _workspace("auth: {kind: none, unsigned: true}\nstreams: {'*': contacts}")
    ).lstrip("\n")
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path, env={})
    found = [w for w in workspace_warnings(workspace) if w.where == "systems.crm.webhooks"]
    assert len(found) == 1 and "UNSIGNED" in found[0].message
