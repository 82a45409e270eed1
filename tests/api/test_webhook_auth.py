"""`auth:` kinds for senders that cannot sign, and the configurable HMAC: the right request
passes, every wrong one is refused with a 4xx and a reason, and nothing else is ever raised."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.api.webhook_auth import Authenticator, Sent, WebhookRefused
from syncwell.workspace.webhooks import WebhookIntake

NOW = 1_767_000_000.0
BODY = b'{"id":"e1","type":"contact.updated","data":{"email":"a@example.com"}}'
PATH_SECRET = "s3cr3t-in-the-path-0123456789"


def _auth(**auth: object) -> Authenticator:
    intake = WebhookIntake.model_validate({"auth": auth, "streams": {"*": "contacts"}})
    return Authenticator(intake)


def _refused(
    authenticator: Authenticator, headers: dict[str, str], body: bytes = BODY, **sent: str
) -> WebhookRefused:
    with pytest.raises(WebhookRefused) as caught:
        authenticator.check(
            Sent.of(sent.get("method", "POST"), headers, body, sent.get("path")), NOW
        )
    return caught.value


HEADER = _auth(kind="header", header="X-Parse-Webhook-Key", secrets=["old-key", "new-key"])


def test_a_static_header_secret_passes_with_any_configured_secret() -> None:
    """Parse Server's X-Parse-Webhook-Key: either secret (rotation) passes."""
    for key in ("old-key", "new-key"):
        HEADER.check(Sent.of("POST", {"x-parse-webhook-key": key}, BODY), NOW)


def test_a_wrong_or_missing_header_secret_is_refused_without_echoing_it() -> None:
    """A wrong key is a 401 whose reason does not repeat the key; a missing one names the header."""
    wrong = _refused(HEADER, {"X-Parse-Webhook-Key": "guess-key"})
    assert wrong.status == 401 and "guess-key" not in wrong.reason
    missing = _refused(HEADER, {})
    assert missing.status == 401 and "x-parse-webhook-key" in missing.reason.lower()
    twice = _refused(HEADER, {"X-Parse-Webhook-Key": "old-key", "x-parse-webhook-key": "x"})
    assert twice.status == 400


def test_a_prefixed_header_secret() -> None:
    """`prefix: "Bearer "` reads an Authorization header."""
    bearer = _auth(kind="header", header="Authorization", prefix="Bearer ", secret="tok")
    bearer.check(Sent.of("POST", {"Authorization": "Bearer tok"}, BODY), NOW)
    assert _refused(bearer, {"Authorization": "tok"}).status == 401


BASIC = _auth(kind="basic", username="hooks", password="pa:ss")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_http_basic_passes_with_the_user_and_password() -> None:
    """The user name and a password with a colon in it both match."""
    BASIC.check(Sent.of("POST", _basic("hooks", "pa:ss"), BODY), NOW)


def test_http_basic_refusals() -> None:
    """Wrong user, wrong password, another scheme, no header: 401; bad base64: 400."""
    assert _refused(BASIC, _basic("root", "pa:ss")).status == 401
    assert _refused(BASIC, _basic("hooks", "pass")).status == 401
    assert _refused(BASIC, {"Authorization": "Bearer x"}).status == 401
    assert _refused(BASIC, {}).status == 401
    assert _refused(BASIC, {"Authorization": "Basic !!!"}).status == 400


PATH = _auth(kind="path", secret=PATH_SECRET)


def test_a_secret_in_the_path_passes_and_a_wrong_one_is_never_echoed() -> None:
    """/hooks/crm/<secret> passes; another segment is a 401 that does not repeat it."""
    PATH.check(Sent.of("POST", {}, BODY, PATH_SECRET), NOW)
    wrong = _refused(PATH, {}, path="guessed-segment-0123456789")
    assert wrong.status == 401 and "guessed" not in wrong.reason
    assert _refused(PATH, {}).status == 401  # /hooks/crm without the secret


def test_a_path_segment_for_a_system_without_a_path_secret_is_a_404() -> None:
    """A secret-looking segment sent to a header-auth system: the URL is wrong (404)."""
    refusal = _refused(HEADER, {"X-Parse-Webhook-Key": "old-key"}, path="whatever-0123456789")
    assert refusal.status == 404 and "whatever" not in refusal.reason


def test_unsigned_intake_passes_anything() -> None:
    """`kind: none, unsigned: true` checks nothing (check warns about it loudly)."""
    _auth(kind="none", unsigned=True).check(Sent.of("POST", {}, BODY), NOW)


def _sign(algorithm: str, message: bytes, secret: str = "hmac-secret") -> bytes:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).digest()


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_a_configured_hmac_over_timestamp_and_body(algorithm: str, encoding: str) -> None:
    """Each hash and encoding, a prefix, and `{timestamp}.{body}` with the time in a header."""
    auth = _auth(
        kind="hmac",
        secret="hmac-secret",
        header="X-Signature",
        algorithm=algorithm,
        encoding=encoding,
        prefix=f"{algorithm}=",
        signed="{timestamp}.{body}",
        timestamp_header="X-Timestamp",
    )
    stamp = str(int(NOW))
    digest = _sign(algorithm, stamp.encode() + b"." + BODY)
    text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    headers = {"X-Signature": f"{algorithm}={text}", "X-Timestamp": stamp}
    verified = auth.check(Sent.of("POST", headers, BODY), NOW)
    assert verified.timestamp == NOW
    assert _refused(auth, headers, BODY + b" ").status == 401
    assert _refused(auth, {**headers, "X-Timestamp": str(int(NOW) - 3600)}).status == 401
    assert _refused(auth, {**headers, "X-Signature": text}).status == 400  # no prefix
    assert _refused(auth, {**headers, "X-Signature": f"{algorithm}=abc"}).status == 400


def test_a_configured_hmac_over_url_and_body() -> None:
    """`{url}{body}` signs the URL the sender was given, not the one syncwell sees."""
    url = "https://public.example/hooks/crm?team=7"
    auth = _auth(kind="hmac", secret="hmac-secret", header="X-Sig", signed="{url}{body}", url=url)
    headers = {"X-Sig": _sign("sha256", url.encode() + BODY).hex()}
    auth.check(Sent.of("POST", headers, BODY), NOW)
    other = {"X-Sig": _sign("sha256", b"http://127.0.0.1:8100/hooks/crm" + BODY).hex()}
    assert _refused(auth, other).status == 401


@given(
    headers=st.dictionaries(
        st.sampled_from(["x-signature", "x-timestamp", "authorization", "x-parse-webhook-key"]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=120),
    ),
    body=st.binary(max_size=200),
    path=st.none() | st.text(max_size=40),
)
def test_any_request_passes_or_is_refused_with_a_4xx(
    headers: dict[str, str], body: bytes, path: str | None
) -> None:
    """Whatever the headers and body hold, each kind answers pass or WebhookRefused (4xx)."""
    kinds = [
        HEADER,
        BASIC,
        PATH,
        _auth(
            kind="hmac",
            secret="s",
            header="X-Signature",
            signature_item="v1",
            timestamp_item="t",
            signed="{timestamp}.{body}",
        ),
        _auth(
            kind="hmac",
            secret="s",
            header="X-Signature",
            timestamp_header="X-Timestamp",
            signed="{timestamp}{body}",
            timestamp_unit="iso8601",
        ),
        _auth(kind="linear", secret="s"),
    ]
    for authenticator in kinds:
        try:
            authenticator.check(Sent.of("POST", headers, body, path), NOW)
        except WebhookRefused as refused:
            assert 400 <= refused.status < 500 and refused.reason


@given(
    body=st.binary(max_size=300),
    algorithm=st.sampled_from(["sha1", "sha256", "sha512"]),
    encoding=st.sampled_from(["hex", "base64"]),
    separator=st.sampled_from(["", ".", ":", "\n"]),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_any_body_signed_as_configured_passes_and_any_altered_byte_fails(
    body: bytes, algorithm: str, encoding: str, separator: str, flip: int
) -> None:
    """Round trip over the raw bytes: the signature a sender computes passes; one flipped
    bit of the body (or an empty body gaining a byte) is a 401."""
    auth = _auth(
        kind="hmac",
        secret="k",
        header="X-Sig",
        algorithm=algorithm,
        encoding=encoding,
        signed=f"{{timestamp}}{separator}{{body}}",
        timestamp_header="X-Ts",
    )
    stamp = str(int(NOW))
    digest = hmac.new(b"k", stamp.encode() + separator.encode() + body, algorithm).digest()
    text = digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()
    headers = {"X-Sig": text, "X-Ts": stamp}
    auth.check(Sent.of("POST", headers, body), NOW)
    if body:
        altered = bytearray(body)
        altered[flip % len(body)] ^= 1
    else:
        altered = bytearray(b"x")
    assert _refused(auth, headers, bytes(altered)).status == 401
