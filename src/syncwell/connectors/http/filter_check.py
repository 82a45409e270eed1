"""The incremental filter checks itself: asked for a point it can verify, does it answer right?

APIs read filter syntax differently. ``updated=2026-11-20T00:00:00Z`` is "since" to one API,
"equal to" to another, and unknown (ignored) to a third; the second returns nothing, and a
flow that trusts it misses every change without a word. So the source asks the filter for
records changed since just before the oldest of the newest records it has read (see
`newest`), one resolution step of the filter's format earlier still, and reads at most a
few pages of the answer:

* none of those records comes back, and the answer was read to its end: the filter misses
  changes (``missed``): the flow must stop, loudly;
* some come back: it works (``passed``); a known record that is missing was likely deleted;
* the answer had more pages than the check reads: it cannot tell (``inconclusive``);
* records older than asked for come back: the API seems to ignore the filter (`ignored`
  counts them); nothing is missed, but every read is a full one, so this is a warning.

A miss is believed only once records read just now (the first pages of a full read) miss too:
an API without tombstones may have deleted the newest records since, and a flow that failed
on that would never read again (`verified`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, cast

from syncwell.connectors.http import since
from syncwell.connectors.http.cursors import micros
from syncwell.connectors.http.endpoints import ReadEndpoint, Stream
from syncwell.connectors.http.filters import ReadQuery, read_query
from syncwell.connectors.http.incremental import Incremental
from syncwell.connectors.http.newest import Known, noted
from syncwell.connectors.http.pagination import Page, Pager
from syncwell.connectors.http.records import MISSING, dig, key_text
from syncwell.types import JSONValue, StreamSpec

__all__ = [
    "Fetch",
    "Verdict",
    "check_filter",
    "filter_text",
    "resolution_of",
    "sample_newest",
    "unchecked",
    "verified",
]

Fetch = Callable[[Pager, JSONValue, ReadQuery], Awaitable[tuple[list[object], Page | None]]]
"""Reads one page of a query: its records, and the page (None when an error rule ignored it)."""

Outcome = Literal["passed", "missed", "inconclusive"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a self-check found.

    Attributes:
        outcome: passed, missed or inconclusive (see the module's docstring).
        message: what was asked, what was sent, what came back, and the fix.
        sent: the first request, as `ReadQuery.shown` writes it (secrets hidden).
        came_back: records the check read.
        found: how many of the known newest records came back.
        ignored: records that came back older than the filter asked for.
    """

    outcome: Outcome
    message: str
    sent: str
    came_back: int
    found: int
    ignored: int


def resolution_of(incremental: Incremental) -> int:
    """How coarse the filter writes the time, in microseconds (a second at least)."""
    return max(since.resolution_us(form) for form in incremental.formats())


def filter_text(incremental: Incremental) -> str:
    """The filter as configured, for messages."""
    parts = [f"params {dict(incremental.templates())}"] if incremental.templates() else []
    if incremental.path is not None:
        parts.append(f"path {incremental.path!r}")
    if incremental.body is not None:
        parts.append(f"body {incremental.body!r}")
    return ", ".join(parts)


async def check_filter(
    fetch: Fetch,
    endpoint: ReadEndpoint,
    stream: StreamSpec,
    newest: tuple[Known, ...],
    max_pages: int,
) -> Verdict:
    """Ask the filter for the `newest` records back and judge the answer."""
    incremental = endpoint.incremental
    assert incremental is not None and stream.cursor is not None and newest
    step = resolution_of(incremental)
    point = min(known.at_us for known in newest) - step
    query = read_query(endpoint, point)
    walk = await _walk(fetch, endpoint, stream, query, max_pages)
    wanted = {known.key: known.at_us for known in newest}
    found = sum(1 for key, at in walk.cursors.items() if key in wanted and at >= wanted[key])
    ignored = sum(1 for at in walk.cursors.values() if at < point - 2 * step)
    outcome: Outcome = "passed"
    if not found:
        outcome = "inconclusive" if walk.more else "missed"
    asked = since.written(point, "iso")
    message = _message(outcome, incremental, stream, newest, asked, walk, found, ignored)
    return Verdict(outcome, message, walk.sent, walk.count, found, ignored)


async def verified(
    fetch: Fetch,
    endpoint: ReadEndpoint,
    stream: StreamSpec,
    known: tuple[Known, ...],
    max_pages: int,
) -> tuple[Verdict | None, tuple[Known, ...]]:
    """The self-check from the `known` newest records, and the newest records to keep.

    Without known records, or when the known ones all miss, records read just now are asked
    for instead; the check says "missed" only when those miss too. None when the stream holds
    nothing to ask for.
    """
    newest = known or await sample_newest(fetch, endpoint, stream, max_pages)
    if not newest:
        return None, ()
    verdict = await check_filter(fetch, endpoint, stream, newest, max_pages)
    if verdict.outcome != "missed" or not known:
        return verdict, newest
    fresh = await sample_newest(fetch, endpoint, stream, max_pages)
    if not fresh or {k.key for k in fresh} == {k.key for k in known}:
        return verdict, newest
    again = await check_filter(fetch, endpoint, stream, fresh, max_pages)
    if again.outcome == "missed":
        keys = ", ".join(k.key for k in fresh)
        said = f"{verdict.message}. Records read just now ({keys}) did not come back either"
        return replace(verdict, message=said), newest
    gone = (
        f"the {len(known)} newest records read before did not come back (deleted since?), "
        "so records read just now were asked for: "
    )
    return replace(again, message=gone + again.message), fresh


async def sample_newest(
    fetch: Fetch, endpoint: ReadEndpoint, stream: StreamSpec, max_pages: int
) -> tuple[Known, ...]:
    """The newest records among the first pages of a full read (the probe's sample)."""
    walk = await _walk(fetch, endpoint, stream, read_query(endpoint, None), max_pages)
    newest: tuple[Known, ...] = ()
    for key, at in walk.cursors.items():
        newest = noted(newest, Known(key, walk.values[key], at))
    return newest


@dataclass
class _Walk:
    """What the pages of one query held: each keyed record's cursor, and whether more remain."""

    sent: str = ""
    count: int = 0
    cursors: dict[str, int] = field(default_factory=dict)
    values: dict[str, JSONValue] = field(default_factory=dict)
    more: bool = False


async def _walk(
    fetch: Fetch, endpoint: ReadEndpoint, stream: StreamSpec, query: ReadQuery, max_pages: int
) -> _Walk:
    pager = Pager(endpoint, query.params, stream.batch_size, query.path)
    walk, token = _Walk(), cast("JSONValue", None)
    assert stream.cursor is not None
    first = pager.request(None)
    walk.sent = replace(query, path=first.url, params=first.params).shown()
    for _ in range(max_pages):
        records, page = await fetch(pager, token, query)
        walk.count += len(records)
        for record in records:
            keys = [dig(record, column) for column in stream.key]
            value = dig(record, stream.cursor)
            at = micros(value)
            if at is None or any(part is MISSING or part is None for part in keys):
                continue
            key = key_text(keys)
            if at >= walk.cursors.get(key, at):
                walk.cursors[key], walk.values[key] = at, cast("JSONValue", value)
        token = None if page is None else pager.next_token(token, page)
        if token is None:
            return walk
    walk.more = True
    return walk


def _message(
    outcome: Outcome,
    incremental: Incremental,
    stream: StreamSpec,
    newest: tuple[Known, ...],
    asked: str,
    walk: _Walk,
    found: int,
    ignored: int,
) -> str:
    known = ", ".join(f"{k.key} ({k.cursor})" for k in newest)
    seen = sorted(walk.values.items(), key=lambda item: -walk.cursors[item[0]])[:3]
    newest_back = ", ".join(str(value) for _, value in seen) or "none"
    head = (
        f"the incremental filter of stream '{stream.name}' ({filter_text(incremental)}) was "
        f"asked for records changed since {asked}, sent as {walk.sent}; it returned "
        f"{walk.count} record(s){' in the pages read' if walk.more else ''} "
        f"(newest {stream.cursor}: {newest_back})"
    )
    if outcome == "missed":
        return (
            f"{head}, and none of the {len(newest)} newest records read before came back: "
            f"{known}. The API reads this filter differently (as 'equal to', or another "
            "field): an edit would never be synced. Write the filter in the API's own syntax "
            "(an operator in the value such as '>={since}', a query language, a JSON where), "
            "then run `syncwell probe` to check it"
        )
    if outcome == "inconclusive":
        return (
            f"{head}; none of the newest records read before ({known}) was among them and "
            "more pages remain, so the check cannot tell whether the filter works; raise "
            "incremental check.max_pages, or sort the read by the cursor"
        )
    text = f"{head}; {found} of the {len(newest)} newest records read before came back"
    if ignored:
        text += (
            f". {ignored} record(s) came back older than asked for: the API seems to ignore "
            "the filter, so every read is a full read (nothing is missed, but it costs "
            "requests); check the filter's syntax in the API's docs"
        )
    return text


def unchecked(streams: Mapping[str, Stream]) -> list[str]:
    """The streams whose incremental filter never checks itself (`check: false`)."""
    return [
        name
        for name, stream in streams.items()
        if stream.read is not None
        and stream.read.incremental is not None
        and stream.read.incremental.check is None
    ]
