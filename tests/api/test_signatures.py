"""Webhook signature verification: real signers' requests pass, everything else is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks import Webhook
from starlette.datastructures import Headers

from syncwell.api.signatures import SignatureSettings, Verified, WebhookRefused, verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another key of at least 24 bytes").decode()
NOW = 1_700_000_000
STANDARD = SignatureSettings(scheme="standard", secrets=(SECRET,))

# The Standard Webhooks spec's published vector (its libraries' `test_sign_function`).
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# GitHub's documented example (docs.github.com, "Validating webhook deliveries").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
GITHUB = SignatureSettings(scheme="github", secrets=(GITHUB_SECRET,))

STRIPE_SECRET = "whsec_stripe_test_secret"
STRIPE = SignatureSettings(scheme="stripe", secrets=(STRIPE_SECRET,))


def standard_headers(
    body: bytes = b'{"type":"contact.upserted"}',
    *,
    secret: str = SECRET,
    msg_id: str = "msg_1",
    timestamp: int = NOW,
) -> dict[str, str]:
    """Headers for `body` signed by the `standardwebhooks` package itself."""
    signature = Webhook(secret).sign(
        msg_id=msg_id, timestamp=datetime.fromtimestamp(timestamp, UTC), data=body.decode()
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def stripe_header(body: bytes, timestamp: int = NOW, secret: str = STRIPE_SECRET) -> str:
    """A Stripe-Signature header computed the way Stripe documents it."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def refused(
    settings: SignatureSettings, headers: Mapping[str, str], body: bytes, now: float
) -> WebhookRefused:
    """The refusal `verify` raises for this request (the test fails if it passes)."""
    with pytest.raises(WebhookRefused) as caught:
        verify(settings, headers, body, now)
    return caught.value


# --- what must pass ---------------------------------------------------------------------------


def test_a_request_signed_by_the_standardwebhooks_package_verifies() -> None:
    """A request signed by the reference library passes and yields its id and timestamp."""
    body = b'{"type":"contact.upserted","data":{"id":1}}'
    headers = standard_headers(body, msg_id="msg_abc", timestamp=NOW - 30)
    assert verify(STANDARD, headers, body, NOW) == Verified("msg_abc", float(NOW - 30))


def test_the_spec_vector_verifies_with_the_clock_at_its_timestamp() -> None:
    """The Standard Webhooks spec's published vector verifies with the clock fixed at it."""
    # The vector is the reference library's own output: if it changed, this test is wrong.
    assert (
        Webhook(SECRET).sign(
            VECTOR_ID, datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC), VECTOR_BODY.decode()
        )
        == VECTOR_SIGNATURE
    )
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verified = verify(STANDARD, headers, VECTOR_BODY, VECTOR_TIMESTAMP)
    assert verified == Verified(VECTOR_ID, float(VECTOR_TIMESTAMP))


def test_the_spec_vector_with_other_versions_and_wrong_signatures_beside_it_verifies() -> None:
    """As in the spec's multi-signature test, one matching v1 among others is enough."""
    other = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": f"v1,{other} v2,{other} {VECTOR_SIGNATURE} v1a,c2lnbmVk",
    }
    assert verify(STANDARD, headers, VECTOR_BODY, VECTOR_TIMESTAMP).event_id == VECTOR_ID


def test_svix_header_names_and_any_case_are_accepted() -> None:
    """The svix-* aliases and header names in any case verify like webhook-* ones."""
    headers = standard_headers(VECTOR_BODY)
    aliased = {
        "Svix-Id": headers["webhook-id"],
        "SVIX-TIMESTAMP": headers["webhook-timestamp"],
        "svix-signature": headers["webhook-signature"],
    }
    assert verify(STANDARD, aliased, VECTOR_BODY, NOW).event_id == "msg_1"
    both = {**headers, "svix-id": headers["webhook-id"]}  # senders that send both, alike
    assert verify(STANDARD, both, VECTOR_BODY, NOW).event_id == "msg_1"


def test_any_configured_secret_verifies_during_a_rotation() -> None:
    """With the old and the new secret configured, requests signed with either pass."""
    settings = SignatureSettings(scheme="standard", secrets=(SECRET, OTHER_SECRET))
    for secret in (SECRET, OTHER_SECRET):
        assert verify(settings, standard_headers(b"x", secret=secret), b"x", NOW)


def test_a_sender_signing_with_two_secrets_verifies_against_either() -> None:
    """A webhook-signature listing the old and the new signature passes with only one secret."""
    old = standard_headers(b"x", secret=OTHER_SECRET)["webhook-signature"]
    headers = standard_headers(b"x")
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert verify(STANDARD, headers, b"x", NOW).event_id == "msg_1"


def test_bodies_that_are_not_utf8_are_verified_as_raw_bytes() -> None:
    """The signature covers the raw bytes, so a body that is not UTF-8 still verifies."""
    body = b"\xff\xfe\x00binary"
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_1.{NOW}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert verify(STANDARD, headers, body, NOW).event_id == "msg_1"


def test_githubs_documented_example_verifies_without_a_timestamp() -> None:
    """GitHub's published secret, payload and signature pass, with the delivery id as event id."""
    headers = {"X-Hub-Signature-256": GITHUB_SIGNATURE, "X-GitHub-Delivery": "72d3162e-cc78"}
    assert verify(GITHUB, headers, GITHUB_BODY, NOW) == Verified("72d3162e-cc78", None)
    alone = {"X-Hub-Signature-256": GITHUB_SIGNATURE}
    assert verify(GITHUB, alone, GITHUB_BODY, NOW) == Verified(None, None)


def test_a_stripe_vector_verifies() -> None:
    """A Stripe-Signature computed as Stripe documents passes, beside a v0 and a wrong v1."""
    body = b'{"id":"evt_1","type":"customer.created"}'
    expected = hmac.new(STRIPE_SECRET.encode(), f"{NOW}.".encode() + body, hashlib.sha256)
    assert stripe_header(body) == f"t={NOW},v1={expected.hexdigest()}"
    header = f"{stripe_header(body)},v1={'0' * 64},v0={'a' * 64}"
    assert verify(STRIPE, {"Stripe-Signature": header}, body, NOW) == Verified(None, float(NOW))


def test_a_timestamp_exactly_at_the_tolerance_passes() -> None:
    """The tolerance is inclusive: a request exactly 300 s old or ahead still passes."""
    body = b"x"
    assert verify(STANDARD, standard_headers(body, timestamp=NOW - 300), body, NOW)
    assert verify(STANDARD, standard_headers(body, timestamp=NOW + 300), body, NOW)


# --- what must be refused ---------------------------------------------------------------------


def test_a_wrong_secret_is_refused() -> None:
    """A request signed with a secret we do not hold gets 401."""
    error = refused(STANDARD, standard_headers(b"x", secret=OTHER_SECRET), b"x", NOW)
    assert error.status == 401 and "does not match" in error.reason


def test_a_flipped_byte_in_the_body_is_refused_in_every_scheme() -> None:
    """Changing one byte of the body after signing gets 401 in all three schemes."""
    body = b'{"amount": 100}'
    tampered = b'{"amount": 900}'
    cases = [
        (STANDARD, standard_headers(body)),
        (GITHUB, {"x-hub-signature-256": GITHUB_SIGNATURE}),
        (STRIPE, {"stripe-signature": stripe_header(body)}),
    ]
    for settings, headers in cases:
        error = refused(settings, headers, tampered, NOW)
        assert error.status == 401 and "does not match" in error.reason, settings.scheme


def test_a_signature_made_for_another_event_id_is_refused() -> None:
    """A valid signature moved onto another webhook-id gets 401: the id is signed."""
    headers = standard_headers(b"x", msg_id="msg_1")
    headers["webhook-id"] = "msg_2"
    assert refused(STANDARD, headers, b"x", NOW).status == 401


def test_a_signature_moved_to_another_timestamp_is_refused() -> None:
    """Changing webhook-timestamp without re-signing gets 401: the timestamp is signed."""
    headers = standard_headers(b"x")
    headers["webhook-timestamp"] = str(NOW + 1)
    error = refused(STANDARD, headers, b"x", NOW)
    assert error.status == 401 and "does not match" in error.reason


def test_an_expired_request_is_refused_in_standard_and_stripe() -> None:
    """A request signed 301 s ago gets 401 saying it is too old, however good its signature."""
    old = NOW - 301
    error = refused(STANDARD, standard_headers(b"x", timestamp=old), b"x", NOW)
    assert error.status == 401 and "301 s old" in error.reason
    error = refused(STRIPE, {"stripe-signature": stripe_header(b"x", old)}, b"x", NOW)
    assert error.status == 401 and "301 s old" in error.reason


def test_a_future_dated_request_is_refused() -> None:
    """A request signed 301 s ahead of our clock gets 401 saying it is in the future."""
    ahead = NOW + 301
    error = refused(STANDARD, standard_headers(b"x", timestamp=ahead), b"x", NOW)
    assert error.status == 401 and "in the future" in error.reason
    error = refused(STRIPE, {"stripe-signature": stripe_header(b"x", ahead)}, b"x", NOW)
    assert error.status == 401 and "in the future" in error.reason


def test_the_tolerance_is_configurable() -> None:
    """With tolerance_s 10, a request 11 s old is refused that the default would accept."""
    settings = SignatureSettings(scheme="standard", secrets=(SECRET,), tolerance_s=10)
    headers = standard_headers(b"x", timestamp=NOW - 11)
    assert verify(STANDARD, headers, b"x", NOW)
    assert refused(settings, headers, b"x", NOW).status == 401


def test_an_oversized_body_is_refused_before_anything_else() -> None:
    """A body over max_body_bytes gets 413, even with no headers at all."""
    settings = SignatureSettings(scheme="standard", secrets=(SECRET,), max_body_bytes=10)
    error = refused(settings, {}, b"x" * 11, NOW)
    assert error.status == 413 and "11 bytes" in error.reason and "10 bytes" in error.reason
    assert verify(settings, standard_headers(b"x" * 10), b"x" * 10, NOW)


def _without(name: str) -> dict[str, str]:
    headers = standard_headers(b"x")
    del headers[name]
    return headers


def _with(name: str, value: str) -> dict[str, str]:
    return {**standard_headers(b"x"), name: value}


GOOD_B64 = base64.b64encode(b"\0" * 32).decode()

MALFORMED_STANDARD = [
    (_without("webhook-id"), 400, "webhook-id or svix-id is missing"),
    (_without("webhook-timestamp"), 400, "webhook-timestamp or svix-timestamp is missing"),
    (_without("webhook-signature"), 401, "webhook-signature or svix-signature is missing"),
    (_with("webhook-id", ""), 400, "webhook-id is empty"),
    (_with("webhook-id", "msg 1"), 400, "visible ASCII"),
    (_with("webhook-timestamp", ""), 400, "webhook-timestamp is empty"),
    (_with("webhook-timestamp", "12a"), 400, "whole Unix seconds, got '12a'"),
    (_with("webhook-timestamp", "1700000000.5"), 400, "whole Unix seconds"),
    (_with("webhook-timestamp", "-1700000000"), 400, "whole Unix seconds"),
    (_with("webhook-timestamp", "9" * 40), 400, "whole Unix seconds"),
    (_with("webhook-signature", ""), 400, "webhook-signature is empty"),
    (_with("webhook-signature", "v1,not base64!"), 400, "base64"),
    (_with("webhook-signature", "v1,c2hvcnQ="), 400, "32-byte HMAC-SHA256"),
    (_with("webhook-signature", f"v1={GOOD_B64}"), 400, "must be 'v1,<base64>'"),
    (_with("webhook-signature", f"sha256={GOOD_B64}"), 400, "must be 'v1,<base64>'"),
    (_with("webhook-signature", f",{GOOD_B64}"), 400, "must be 'v1,<base64>'"),
    (_with("webhook-signature", f"v2,{GOOD_B64}"), 401, "no v1 signature (versions sent: 'v2')"),
    ({**standard_headers(b"x"), "svix-id": "msg_other"}, 400, "sent 2 times"),
]


@pytest.mark.parametrize(("headers", "status", "reason"), MALFORMED_STANDARD)
def test_malformed_standard_headers_are_refused_with_a_clear_reason(
    headers: dict[str, str], status: int, reason: str
) -> None:
    """Each malformed Standard Webhooks header gets its status and a reason naming the fault."""
    error = refused(STANDARD, headers, b"x", NOW)
    assert error.status == status
    assert reason in error.reason


MALFORMED_GITHUB = [
    ({}, 401, "x-hub-signature-256 is missing"),
    ({"X-Hub-Signature": "sha1=" + "0" * 40}, 401, "x-hub-signature-256 is missing"),
    ({"X-Hub-Signature-256": ""}, 400, "is empty"),
    ({"X-Hub-Signature-256": GITHUB_SIGNATURE.upper()}, 400, "'sha256=' followed by 64 hex"),
    ({"X-Hub-Signature-256": "sha256=" + "g" * 64}, 400, "64 hex digits"),
    ({"X-Hub-Signature-256": GITHUB_SIGNATURE[:-2]}, 400, "64 hex digits"),
    ({"X-Hub-Signature-256": GITHUB_SIGNATURE, "X-GitHub-Delivery": "a b"}, 400, "visible"),
]


@pytest.mark.parametrize(("headers", "status", "reason"), MALFORMED_GITHUB)
def test_malformed_github_headers_are_refused_with_a_clear_reason(
    headers: dict[str, str], status: int, reason: str
) -> None:
    """Each malformed GitHub header gets its status and a reason naming the fault."""
    error = refused(GITHUB, headers, GITHUB_BODY, NOW)
    assert error.status == status
    assert reason in error.reason


HEX = "0" * 64
MALFORMED_STRIPE = [
    ({}, 401, "stripe-signature is missing"),
    ({"Stripe-Signature": ""}, 400, "is empty"),
    ({"Stripe-Signature": f"v1={HEX}"}, 400, "must hold one t=<unix seconds>, found 0"),
    ({"Stripe-Signature": f"t={NOW},t={NOW},v1={HEX}"}, 400, "found 2"),
    ({"Stripe-Signature": f"t=12a,v1={HEX}"}, 400, "whole Unix seconds, got '12a'"),
    ({"Stripe-Signature": f"t={NOW}"}, 401, "no v1 signature"),
    ({"Stripe-Signature": f"t={NOW},v0={HEX}"}, 401, "no v1 signature"),
    ({"Stripe-Signature": f"t={NOW},v1=abc"}, 400, "v1 must be 64 hex digits, got 'abc'"),
    ({"Stripe-Signature": f"t={NOW},v1{HEX}"}, 400, "got item"),
    ({"Stripe-Signature": f"t={NOW},,v1={HEX}"}, 400, "got item ''"),
]


@pytest.mark.parametrize(("headers", "status", "reason"), MALFORMED_STRIPE)
def test_malformed_stripe_headers_are_refused_with_a_clear_reason(
    headers: dict[str, str], status: int, reason: str
) -> None:
    """Each malformed Stripe-Signature gets its status and a reason naming the fault."""
    error = refused(STRIPE, headers, b"x", NOW)
    assert error.status == status
    assert reason in error.reason


def test_a_header_sent_twice_is_refused_even_with_the_same_value() -> None:
    """A repeated header (as Starlette's Headers keeps it) gets 400, not a guess at which counts."""
    good = standard_headers(b"x")
    raw = [(name.encode(), value.encode()) for name, value in good.items()]
    raw.append((b"webhook-timestamp", good["webhook-timestamp"].encode()))
    error = refused(STANDARD, Headers(raw=raw), b"x", NOW)
    assert error.status == 400 and "webhook-timestamp was sent 2 times" in error.reason
    assert verify(STANDARD, Headers(raw=raw[:-1]), b"x", NOW).event_id == "msg_1"


# --- settings and the error itself ------------------------------------------------------------


def test_standard_settings_refuse_a_secret_that_is_not_whsec_base64() -> None:
    """A standard secret without the whsec_ prefix or with bad base64 fails at load, not later."""
    for secret in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", "whsec_", ""):
        with pytest.raises(ValidationError):
            SignatureSettings(scheme="standard", secrets=(secret,))
    with pytest.raises(ValidationError):
        SignatureSettings(scheme="github", secrets=())


def test_one_secret_may_be_written_without_a_list_and_unpadded() -> None:
    """A lone secret string becomes a one-item tuple, and unpadded base64 is accepted."""
    unpadded = "whsec_" + base64.b64encode(b"k" * 25).decode().rstrip("=")
    settings = SignatureSettings.model_validate({"scheme": "standard", "secrets": unpadded})
    assert len(settings.secrets) == 1
    assert verify(settings, standard_headers(b"x", secret=unpadded), b"x", NOW)


def test_webhook_refused_keeps_its_fields_and_pickles() -> None:
    """The refusal carries status and reason across a pickle and shows both in its message."""
    error = pickle.loads(pickle.dumps(WebhookRefused(401, "bad signature")))
    assert (error.status, error.reason, str(error)) == (401, "bad signature", "401: bad signature")


# --- any input whatsoever -----------------------------------------------------------------------

_PIECES = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[0-9]{0,14}\Z"),
    st.sampled_from(["v1,", "v1a,", "t=", "v1=", "v0=", "sha256=", ",", " ", "=", "\t"]),
    st.just(GOOD_B64),
    st.just(HEX),
    st.just(str(NOW)),
)
_VALUES = st.lists(_PIECES, max_size=6).map("".join)

# Each scheme's headers, valid for the body b"x" at NOW: the strategy below keeps, drops or
# garbles each one, so that it reaches every check rather than stopping at "missing".
_VALID = {
    "standard": standard_headers(b"x"),
    "github": {
        "X-Hub-Signature-256": "sha256=" + hmac.new(b"k", b"x", hashlib.sha256).hexdigest(),
        "X-GitHub-Delivery": "d-1",
    },
    "stripe": {"Stripe-Signature": stripe_header(b"x")},
}
_ALIASES = ["svix-id", "svix-timestamp", "svix-signature", "WEBHOOK-ID", "x-github-delivery"]
_SETTINGS = {
    "standard": STANDARD,
    "github": SignatureSettings(scheme="github", secrets=("k",)),
    "stripe": SignatureSettings(scheme="stripe", secrets=(STRIPE_SECRET,), max_body_bytes=32),
}


@st.composite
def _requests(draw: st.DrawFn) -> tuple[SignatureSettings, list[tuple[str, str]], bytes, float]:
    scheme = draw(st.sampled_from(sorted(_VALID)))
    headers: list[tuple[str, str]] = []
    for name, value in _VALID[scheme].items():
        fate = draw(st.sampled_from(["keep", "drop", "garble", "twice"]))
        if fate != "drop":
            headers.append((name, draw(_VALUES) if fate == "garble" else value))
        if fate == "twice":
            headers.append((name.upper(), draw(st.sampled_from([value, draw(_VALUES)]))))
    extra = st.tuples(st.one_of(st.sampled_from(_ALIASES), st.text(max_size=10)), _VALUES)
    headers += draw(st.lists(extra, max_size=3))
    body = draw(st.one_of(st.just(b"x"), st.binary(max_size=64)))
    now = draw(st.one_of(st.integers(NOW - 400, NOW + 400), st.integers()))
    return _SETTINGS[scheme], headers, body, float(now)


@given(request=_requests())
def test_any_headers_and_body_raise_nothing_but_webhook_refused(
    request: tuple[SignatureSettings, list[tuple[str, str]], bytes, float],
) -> None:
    """Whatever headers, body and clock come in, verify returns or raises WebhookRefused."""
    settings, headers, body, now = request
    raw = [(name.encode("latin-1", "replace"), value.encode("utf-8")) for name, value in headers]
    for shown in (dict(headers), Headers(raw=raw)):  # a plain dict, and as a server sees them
        try:
            verify(settings, shown, body, now)
        except WebhookRefused as error:
            assert error.status in {400, 401, 413}
            assert error.reason


@given(body=st.binary(max_size=256), msg_id=st.from_regex(r"\A[\x21-\x7e]{1,40}\Z"))
def test_any_body_and_id_signed_correctly_verify(body: bytes, msg_id: str) -> None:
    """A correct signature over any bytes and any allowed id always passes: no false refusals."""
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{NOW}.".encode() + body, hashlib.sha256).digest()
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(NOW),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert verify(STANDARD, headers, body, NOW) == Verified(msg_id, float(NOW))
