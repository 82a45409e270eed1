"""Live checks of an http stream, for `syncwell probe`: it answers, its records fit the flow.

One unfiltered first page shows that the credentials and the path work, and whether its
records hold the flow's key, cursor and fields; then an incremental filter runs its self-check
(see `filter_check`). Nothing is written, and at most a few pages are read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from syncwell.connectors.http.cursors import micros
from syncwell.connectors.http.filter_check import Verdict
from syncwell.connectors.http.records import MISSING, dig
from syncwell.connectors.http.source import HttpSource
from syncwell.errors import ConnectorError, TransientError
from syncwell.types import Checkpoint, Clock, StreamSpec

__all__ = ["Finding", "Status", "failed", "patiently", "probe_stream"]

T = TypeVar("T")
_ATTEMPTS = 3

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One live check's result.

    Attributes:
        check: what was checked: read, key, cursor, fields, filter, table, connect.
        status: ok, warn or fail.
        found: what the check saw.
        fix: what to change; empty when nothing needs to.
    """

    check: str
    status: Status
    found: str
    fix: str = ""


async def probe_stream(
    source: HttpSource, stream: StreamSpec, checkpoint: Checkpoint | None, clock: Clock
) -> list[Finding]:
    """The live checks of `stream`: its first page, its fields, its filter."""
    try:
        records = await patiently(lambda: source.sample(stream), clock)
    except ConnectorError as error:
        return [failed("read", error, "check base_url, the stream's read path and auth")]
    findings = [Finding("read", "ok", f"the first page answered with {len(records)} record(s)")]
    if not records:
        fix = "add a record, then probe again"
        return [*findings, Finding("key", "warn", "the stream is empty: nothing to check", fix)]
    findings += _fields(records, stream)
    try:
        verdict = await patiently(lambda: source.check_filter(stream, checkpoint), clock)
    except ConnectorError as error:
        return [*findings, failed("filter", error, "check the incremental filter's syntax")]
    if verdict is not None:
        findings.append(_filter_finding(verdict))
    return findings


async def patiently(call: Callable[[], Awaitable[T]], clock: Clock) -> T:
    """`call`, tried again after a transient failure (a 429, a 5xx), three times at most.

    The wait is the answer's Retry-After, else a second: the probe is a handful of requests,
    and a rate limit it trips is no finding about the system.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return await call()
        except TransientError as error:
            if attempt == _ATTEMPTS - 1:
                raise
            await clock.sleep(min(error.retry_after or 1.0, 30.0))
    raise AssertionError("unreachable")


def failed(check: str, error: ConnectorError, fix: str) -> Finding:
    """A check that an error ended, with `fix` unless the connector's message says one."""
    said = str(error)
    if isinstance(error, TransientError):
        fix = "it may pass: probe again; if it stays, check base_url and the network"
    elif ";" in said:  # the connector's message ends with the fix when the status names one
        fix = ""
    return Finding(check, "fail", said, fix)


def _fields(records: Sequence[object], stream: StreamSpec) -> list[Finding]:
    objects = [record for record in records if isinstance(record, dict)]
    total = len(records)
    keyed = sum(1 for r in objects if all(_has(r, column) for column in stream.key))
    key = ", ".join(stream.key)
    seen = sorted({name for record in objects for name in record})[:12]
    findings = [_share("key", keyed, total, f"key {key}", seen)]
    if stream.cursor is not None:
        readable = sum(1 for r in objects if micros(dig(r, stream.cursor)) is not None)
        what = f"a readable cursor {stream.cursor}"
        findings.append(_share("cursor", readable, total, what, seen))
    missing = [c for c in stream.columns if not any(dig(r, c) is not MISSING for r in objects)]
    if missing:
        found = f"no record of the first page has {', '.join(missing)}"
        fix = f"fix the flow's fields (the records hold: {', '.join(seen)})"
        findings.append(Finding("fields", "warn", found, fix))
    elif stream.columns:
        findings.append(Finding("fields", "ok", f"all {len(stream.columns)} fields are there"))
    return findings


def _share(check: str, having: int, total: int, what: str, seen: list[str]) -> Finding:
    if having == total:
        return Finding(check, "ok", f"all {total} record(s) of the first page have {what}")
    fix = (
        f"name a field the records hold (dotted paths reach nested ones; they hold: "
        f"{', '.join(seen)})"
    )
    found = f"{total - having} of {total} record(s) of the first page lack {what}"
    return Finding(check, "fail" if having == 0 else "warn", found, fix)


def _has(record: dict[str, object], column: str) -> bool:
    value = dig(record, column)
    return value is not MISSING and value is not None


def _filter_finding(verdict: Verdict) -> Finding:
    if verdict.outcome == "missed":
        return Finding("filter", "fail", verdict.message, "write the filter in the API's syntax")
    if verdict.outcome == "inconclusive":
        return Finding("filter", "warn", verdict.message, "raise incremental check.max_pages")
    if verdict.ignored:
        return Finding("filter", "warn", verdict.message, "check the filter's syntax")
    return Finding("filter", "ok", verdict.message)
