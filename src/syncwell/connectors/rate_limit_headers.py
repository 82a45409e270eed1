"""Rate-limit headers, read through one parser (DESIGN.md: "Rate-limit headers vary").

Understood, in this order of trust:

* ``Retry-After``: seconds, or an HTTP date (RFC 9110 §10.2.3). When present it wins: the
  budget pauses for it, and only the limit is learned from the other headers.
* IETF ``RateLimit`` and ``RateLimit-Policy``: draft 7's ``limit=100, remaining=50, reset=30``
  with ``100;w=60``, and the structured form of later drafts, ``"default";r=50;t=30`` with
  ``"default";q=100;w=60``. With several policies, the one with the fewest requests left binds.
* ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` (also spelled ``X-Rate-Limit-*`` and,
  in draft 6, ``RateLimit-Limit`` / ...). A reset is seconds from now, or a Unix timestamp
  (seconds, or milliseconds) when it is that large.

A header that cannot be read is ignored, never an error: a vendor's typo must not stop a sync.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RateLimitInfo", "parse_rate_limit"]

# ASCII digits only: `\d` alone would read "٣" (Arabic-Indic three) as a number.
_INT = re.compile(r"^\s*(\d{1,15})\s*$", re.ASCII)
_SECONDS = re.compile(r"^\s*(\d{1,15}(?:\.\d{1,9})?)\s*$", re.ASCII)
_LEADING_INT = re.compile(r"^\s*(\d{1,15})\b", re.ASCII)
# A reset this large is a Unix timestamp, not a delay (1e9 s is September 2001).
_TIMESTAMP_FROM = 1e9
_MILLIS_FROM = 1e12
_PREFIXES = ("x-ratelimit-", "x-rate-limit-", "ratelimit-")


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What one answer's headers said about the budget; None where they said nothing.

    Attributes:
        retry_after_s: wait this long before the next request.
        limit: requests allowed per window.
        remaining: requests left in the current window.
        reset_after_s: seconds until the window resets.
        window_s: the window's length.
    """

    retry_after_s: float | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_after_s: float | None = None
    window_s: float | None = None

    @property
    def empty(self) -> bool:
        """Whether the headers said nothing at all."""
        return self == _NOTHING


_NOTHING = RateLimitInfo()


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    """What `headers` say about the rate limit; `now` is the wall clock in Unix seconds."""
    lower = {str(name).lower(): str(value) for name, value in headers.items()}
    retry_after = _retry_after(lower.get("retry-after"), now)
    ietf = _ietf(lower.get("ratelimit"), lower.get("ratelimit-policy"))
    legacy = _legacy(lower, now)
    best = ietf if ietf.limit is not None or ietf.remaining is not None else legacy
    if retry_after is not None:
        return RateLimitInfo(retry_after, best.limit, None, None, best.window_s)
    return best


def _retry_after(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    if match := _SECONDS.match(value):
        return float(match.group(1))
    try:
        moment = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # an HTTP date is always GMT, even when it says -0000
        moment = moment.replace(tzinfo=dt.UTC)
    return _finite(max(0.0, moment.timestamp() - now))


def _legacy(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    for prefix in _PREFIXES:
        limit = _int(headers.get(prefix + "limit"), leading=True)
        remaining = _int(headers.get(prefix + "remaining"))
        if limit is None and remaining is None:
            continue
        reset = _reset(headers.get(prefix + "reset"), now)
        return RateLimitInfo(None, limit, remaining, reset, None)
    return _NOTHING


def _reset(value: str | None, now: float) -> float | None:
    if value is None or not (match := _SECONDS.match(value)):
        return None
    number = float(match.group(1))
    if number >= _MILLIS_FROM:
        number = number / 1000 - now
    elif number >= _TIMESTAMP_FROM:
        number -= now
    return max(0.0, number)


def _int(value: str | None, *, leading: bool = False) -> int | None:
    # `X-RateLimit-Limit: 100, 100;w=60` (a limit followed by its policy) reads as 100.
    if value is None:
        return None
    match = (_LEADING_INT if leading else _INT).match(value)
    return int(match.group(1)) if match else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _ietf(state: str | None, policy: str | None) -> RateLimitInfo:
    """The binding policy of the IETF headers, in draft 7's form or the structured one."""
    if state is None:
        return _NOTHING
    items = _items(state)
    policies = _items(policy) if policy is not None else []
    if any("limit" in params for _, params in items):  # draft 7: one dictionary
        merged = {k: v for _, params in items for k, v in params.items()}
        return _draft7(merged, policies)
    return _structured(items, policies)


def _draft7(state: Mapping[str, str], policies: list[tuple[str, dict[str, str]]]) -> RateLimitInfo:
    limit = _int(state.get("limit"))
    window = None
    for name, params in policies:  # `100;w=60, 1000;w=3600`: the one matching `limit`
        quota = _int(name)
        if quota is not None and (limit is None or quota == limit):
            window = _seconds(params.get("w"))
            break
    return RateLimitInfo(
        None, limit, _int(state.get("remaining")), _seconds(state.get("reset")), window
    )


def _structured(
    items: list[tuple[str, dict[str, str]]], policies: list[tuple[str, dict[str, str]]]
) -> RateLimitInfo:
    readable = [(name, params) for name, params in items if _int(params.get("r")) is not None]
    if not readable:
        return _NOTHING
    name, params = min(readable, key=lambda item: _int(item[1].get("r")) or 0)
    policy = next((p for n, p in policies if n == name), {})
    return RateLimitInfo(
        None,
        _int(policy.get("q")),
        _int(params.get("r")),
        _seconds(params.get("t")),
        _seconds(policy.get("w")),
    )


def _seconds(value: str | None) -> float | None:
    if value is None or not (match := _SECONDS.match(value)):
        return None
    return float(match.group(1))


def _items(value: str) -> list[tuple[str, dict[str, str]]]:
    """A list of ``item;key=value`` members, or of ``key=value`` members (draft 7).

    Quotes around the item name are dropped; a draft-7 member ``limit=100`` becomes an item
    with no name and the parameter ``limit``. Commas inside quotes are not special-cased:
    policy names with commas do not occur in the wild.
    """
    members = []
    for member in value.split(","):
        first, *rest = member.split(";")
        params = dict(_pair(part) for part in rest)
        if "=" in first:
            key, val = _pair(first)
            members.append(("", {key: val, **params}))
        else:
            members.append((first.strip().strip('"'), params))
    return members


def _pair(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key.strip().lower(), value.strip().strip('"')
