"""HTTP answers and failures to syncwell's errors, in one place.

The configured rules (``errors:``) are tried first; then per-record errors of a bulk answer;
then the defaults, which docs/connectors/http.md tabulates. Every message says what failed
(method, path, status, the start of the body) and, where the status tells, how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Literal

import httpx

from syncwell.connectors.http.call import Call
from syncwell.connectors.http.endpoints import ItemErrors
from syncwell.connectors.http.records import MISSING, dig
from syncwell.connectors.http.settings import ErrorClass, ErrorRule
from syncwell.errors import (
    ConnectorError,
    IntegrationFatalError,
    MisconfiguredError,
    RateLimitedError,
    RecordMissingError,
    RecordRejectedError,
    ServerError,
    TimedOutError,
    TransientError,
)

__all__ = ["Outcome", "check", "item_rejection", "translated"]

Outcome = Literal["ok", "ignored"]
_EXCERPT = 200
# An all-or-nothing bulk API lists the records it refused with one of these.
_LISTING = frozenset({400, 409, 422})
# Any other 4xx refuses the request's records (on a read: needs a person, see `_apply`).
_FATAL = frozenset({401, 403, 404, 405, 410})
_TRANSIENT = frozenset({408, 425})
# A gateway that cannot reach the tool, or a tool that says it is unavailable: down or busy,
# whatever the record. Every other 5xx is the tool's own failure (`ServerError`): one record it
# always fails on can be set aside while the others are written (engine/delivery.py).
_UNAVAILABLE = frozenset({502, 503, 504})
_REASON_PATHS = ("message", "error.message", "error_description", "error", "detail", "title")
_FIXES = {
    401: "check the credentials under auth: (expired, revoked or for another environment?)",
    403: "the credentials lack permission here; grant the scope or role this endpoint needs",
    405: "the endpoint does not take this method; fix `method:` in the stream's settings",
    410: "the API removed this endpoint or object; move the path to its current version",
}


def check(
    response: httpx.Response,
    call: Call,
    rules: Sequence[ErrorRule],
    *,
    system: str,
    retry_after: float | None,
) -> Outcome:
    """Whether the answer counts as done; raises the error it stands for otherwise."""
    rule = next((rule for rule in rules if _matches(rule, response)), None)
    if rule is not None:
        return _apply(rule.error_class, response, call, system, retry_after)
    status = response.status_code
    if response.is_success or status in _LISTING:
        refused = item_rejection(response, call, system=system)
        if refused is not None:
            raise refused
    if response.is_success or status in call.passthrough:
        return "ok"
    if status in (404, 410) and call.purpose == "delete":
        return "ok"  # already gone: what the delete wanted
    if status in (404, 410) and call.purpose == "write" and call.names_record:
        # The record's own URL is gone: that record is missing in the tool (deleted there).
        # Dead-letter it and let the others through; a stalled flow helps nobody.
        reason = (
            f"the record is missing in {system} ({status} at its own URL; deleted there?): "
            "recreate it there and replay this dead letter, or discard it; or set the "
            "flow's `missing: recreate` (or `drop`)"
        )
        message = f"{_message(response, call)}: {reason}"
        raise RecordMissingError(message, system=system, key=call.key, reason=reason)
    if status == 429:
        return _apply("rate_limited", response, call, system, retry_after)
    if status >= 500 or status in _TRANSIENT:
        return _apply("transient", response, call, system, retry_after)
    if 400 <= status < 500 and status not in _FATAL:
        return _apply("permanent", response, call, system, retry_after)
    return _apply("fatal", response, call, system, retry_after)


def _apply(
    kind: ErrorClass, response: httpx.Response, call: Call, system: str, retry_after: float | None
) -> Outcome:
    if kind == "ignore":
        return "ignored"
    message = _message(response, call)
    if kind == "rate_limited":
        raise RateLimitedError(message, system=system, retry_after=retry_after)
    if kind == "transient":
        status = response.status_code
        if status >= 500 and status not in _UNAVAILABLE:
            raise ServerError(message, system=system, retry_after=retry_after, status=status)
        raise TransientError(message, system=system, retry_after=retry_after)
    if kind == "permanent" and call.purpose != "read":
        reason = _reason(response)
        if call.purpose == "lookup":
            reason = f"its lookup by write.find was refused: {reason}"
        raise RecordRejectedError(message, system=system, key=call.key, reason=reason)
    # A read cannot set one record aside: a refused read needs a person, like a fatal error.
    raise IntegrationFatalError(message, system=system)


def _matches(rule: ErrorRule, response: httpx.Response) -> bool:
    status = response.status_code
    wanted = rule.status
    if isinstance(wanted, int) and wanted != status:
        return False
    if isinstance(wanted, str) and wanted != f"{status // 100}xx":
        return False
    if rule.body_contains is not None and rule.body_contains not in response.text:
        return False
    if rule.body_path is not None:
        found = dig(_json(response), rule.body_path)
        # `true` must not equal 1: a JSON boolean only matches a boolean.
        same_kind = isinstance(found, bool) == isinstance(rule.equals, bool)
        return found is not MISSING and same_kind and found == rule.equals
    return True


def item_rejection(
    response: httpx.Response, call: Call, *, system: str
) -> RecordRejectedError | None:
    """The first record a bulk answer lists as refused, as an error naming its key."""
    config = call.item_errors
    if config is None:
        return None
    errors = dig(_json(response), config.path)
    if not isinstance(errors, list) or not errors:
        return None
    entry = errors[0]
    key = _entry_key(entry, call.keys, config)
    said = dig(entry, config.message) if config.message else MISSING
    reason = said if isinstance(said, str) and said else _short(json.dumps(entry, default=str))
    where = f"{call.method} {httpx.URL(call.url).path}"
    more = f" ({len(errors)} refused in all)" if len(errors) > 1 else ""
    return RecordRejectedError(
        f"{where} refused record {key if key is not None else '(unknown)'}: {reason}{more}",
        system=system,
        key=key,
        reason=reason,
    )


def _entry_key(entry: object, keys: Sequence[str], config: ItemErrors) -> str | None:
    if config.index is not None:
        index = dig(entry, config.index)
        if isinstance(index, int) and not isinstance(index, bool):
            position = index - config.index_base
            if 0 <= position < len(keys):
                return keys[position]
    if config.key is not None:
        value = dig(entry, config.key)
        if value is not MISSING and value is not None and str(value) in keys:
            return str(value)
    return None


@contextmanager
def translated(call: Call, *, system: str, timeout_s: float) -> Iterator[None]:
    """Raise syncwell's errors for what httpx raises while `call` is sent."""
    where = f"{call.method} {_path(call.url)}"
    try:
        yield
    except ConnectorError:
        raise
    except httpx.TimeoutException as error:
        message = f"{where} got no answer within {timeout_s:g}s ({type(error).__name__})"
        raise TimedOutError(message, system=system) from error
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        message = f"{where}: {error}; fix base_url or the stream's path in syncwell.yaml"
        raise MisconfiguredError(message, system=system) from error
    except httpx.HTTPError as error:
        message = f"{where} failed: {type(error).__name__}: {error}"
        raise TransientError(message, system=system) from error


def _message(response: httpx.Response, call: Call) -> str:
    status = response.status_code
    where = f"{call.method} {_path(call.url)}"
    text = f"{where} answered {status} {response.reason_phrase}".rstrip()
    excerpt = _short(" ".join(response.text.split()))
    if excerpt:
        text += f": {excerpt}"
    fix = _fix(response, call)
    return f"{text}; {fix}" if fix else text


def _fix(response: httpx.Response, call: Call) -> str:
    status = response.status_code
    if status == 404:
        url = response.request.url.copy_with(query=None)
        if call.purpose == "read":
            return f"nothing at {url}; check base_url and the stream's read path"
        return f"nothing at {url}; check base_url and the stream's write path"
    if 300 <= status < 400:
        target = response.headers.get("location", "elsewhere")
        return f"the API redirects to {target}; set base_url and path to where it points"
    if call.purpose == "read" and status in (400, 422):
        return "the API refused the read; check the stream's params and incremental settings"
    if call.purpose == "lookup" and status in (400, 422):
        return (
            "the API refused the lookup (write.find) made for this record: a value its query "
            "cannot take (a quote in a query language?), or check write.find's params"
        )
    return _FIXES.get(status, "")


def _reason(response: httpx.Response) -> str:
    body = _json(response)
    for path in _REASON_PATHS:
        found = dig(body, path)
        if isinstance(found, str) and found:
            return _short(found)
    return _short(" ".join(response.text.split())) or f"status {response.status_code}"


def _json(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:  # not JSON (UnicodeDecodeError is a ValueError too)
        return MISSING


def _path(url: str) -> str:
    try:
        return httpx.URL(url).path or "/"
    except httpx.InvalidURL:
        return url.split("?", 1)[0]


def _short(text: str) -> str:
    return text if len(text) <= _EXCERPT else f"{text[:_EXCERPT]}..."
