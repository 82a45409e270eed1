"""What a receiver's answer means for the change it was about, as a `syncwell.errors` class.

======================  =========================================================
answer                  error
======================  =========================================================
2xx                     none: delivered
410 Gone                `IntegrationFatalError`; the destination stops sending
401, 403                `IntegrationFatalError`: the receiver refuses our
                        credentials (a secret or token mismatch), not this event
3xx                     `IntegrationFatalError`: redirects are not followed
408, 429, 5xx           `TransientError` (`RateLimitedError` for 429), with the
                        ``Retry-After`` the receiver sent
any other 4xx           `RecordRejectedError`: the receiver refused this event
======================  =========================================================
"""

from __future__ import annotations

from syncwell.connectors.rate_limit_headers import parse_rate_limit
from syncwell.errors import (
    ConnectorError,
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    TransientError,
)

__all__ = ["GONE", "classify", "retry_after"]

GONE = 410


def classify(
    status: int,
    *,
    excerpt: str,
    retry_after_header: str | None,
    now: float,
    system: str,
    key: str | None,
    location: str | None = None,
) -> ConnectorError | None:
    """The error an answer means for its change, or `None` when the change was delivered.

    Args:
        status: the HTTP status.
        excerpt: the start of the response body, to show why.
        retry_after_header: the response's ``Retry-After``, if any.
        now: Unix seconds, to turn a ``Retry-After`` date into seconds.
        system: the system's name.
        key: the change's record key.
        location: the response's ``Location``, for a redirect.
    """
    answer = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if 200 <= status < 300:
        return None
    if status == GONE:
        return IntegrationFatalError(
            f"the receiver answered {answer}: it asks not to be sent webhooks any more. No more "
            "are sent until syncwell restarts; fix or remove the system's url first",
            system=system,
        )
    if status in {401, 403}:
        return IntegrationFatalError(
            f"the receiver refused the request ({answer}); check that it holds the system's "
            "secret and any headers it requires",
            system=system,
        )
    if 300 <= status < 400:
        return IntegrationFatalError(
            f"the receiver redirected ({answer}) to {location or 'an unnamed place'}; redirects "
            "are not followed (they could lead into a private network): set url to the final "
            "address",
            system=system,
        )
    if status == 429 or status == 408 or status >= 500:
        wait = retry_after(retry_after_header, now)
        error_class = RateLimitedError if status == 429 else TransientError
        return error_class(f"the receiver answered {answer}", system=system, retry_after=wait)
    return RecordRejectedError(
        f"the receiver refused the event ({answer})", system=system, key=key, reason=answer
    )


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: whole seconds or an HTTP date.

    Returns `None` when there is no value or it cannot be read; a date in the past gives 0.
    Read by the one parser every connector shares (DESIGN.md: "Rate-limit headers vary").
    """
    if value is None:
        return None
    return parse_rate_limit({"retry-after": value}, now).retry_after_s
