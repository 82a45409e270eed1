"""Who may send a system's webhooks: one `Authenticator` per system, built from its `auth:`.

The ingress hands it the raw request (`Sent`) before anything is parsed. It passes, with the
event id and signing time the request carries, or raises `WebhookRefused` with the status and
a reason; nothing else is raised, whatever the request holds.
"""

from __future__ import annotations

from syncwell.api.signatures import SignatureSettings, Verified, WebhookRefused, _verify
from syncwell.api.webhook_auth.hmacs import check_hmac
from syncwell.api.webhook_auth.sent import Sent
from syncwell.api.webhook_auth.tokens import check_basic, check_header, check_path
from syncwell.workspace.webhook_auth import (
    BasicAuth,
    HeaderAuth,
    HmacAuth,
    NoAuth,
    PathAuth,
    PresetAuth,
    SchemeAuth,
)
from syncwell.workspace.webhook_presets import expand
from syncwell.workspace.webhooks import WebhookIntake

__all__ = ["Authenticator", "Sent", "Verified", "WebhookRefused"]


class Authenticator:
    """Checks the requests of one system's webhooks the way its `auth:` says."""

    def __init__(self, intake: WebhookIntake) -> None:
        auth = intake.auth
        self.auth = expand(auth) if isinstance(auth, PresetAuth) else auth
        self.takes_path_secret = isinstance(self.auth, PathAuth)
        self._tolerance_s = intake.tolerance.total_seconds()
        self._scheme: SignatureSettings | None = None
        if isinstance(self.auth, SchemeAuth):
            self._scheme = SignatureSettings(
                scheme=self.auth.kind,
                secrets=self.auth.secrets,
                tolerance_s=self._tolerance_s,
                max_body_bytes=intake.max_body_bytes,
            )

    def check_url(self, path_secret: str | None) -> None:
        """Refuse a URL that is not this system's: a path secret where none is taken (404),
        or a missing or wrong one where one is (401). The secret is never echoed back."""
        if path_secret is not None and not isinstance(self.auth, PathAuth):
            raise WebhookRefused(404, "no such webhook URL: this system's URL is /hooks/<system>")
        if isinstance(self.auth, PathAuth):
            check_path(self.auth, Sent.of("POST", {}, b"", path_secret))

    def check(self, sent: Sent, now: float) -> Verified:
        """Pass `sent`, or raise `WebhookRefused` saying why not."""
        auth = self.auth
        self.check_url(sent.path_secret)
        if self._scheme is not None:
            return _verify(self._scheme, sent.headers, sent.body, now)
        if isinstance(auth, HmacAuth):
            return check_hmac(auth, sent, now, self._tolerance_s)
        if isinstance(auth, HeaderAuth):
            return check_header(auth, sent)
        if isinstance(auth, BasicAuth):
            return check_basic(auth, sent)
        if isinstance(auth, PathAuth):
            return check_path(auth, sent)
        assert isinstance(auth, NoAuth)
        return Verified(event_id=None, timestamp=None)
