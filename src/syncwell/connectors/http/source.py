"""Reading a stream of an http system: page by page, a first full read, then incremental.

Each page becomes one batch, yielded with the checkpoint of the page after it (see
`checkpoints` for the shape), so a read that fails resumes at the first page not committed.
Incremental reads filter by the flow's cursor minus its look-back, in the API's own syntax
(see `filters`), and skip the versions the last read already took in (see `window`). Before
the first incremental read, and then at most every ``check.every_s``, the filter checks
itself (see `filter_check`): a filter that misses changes stops the flow with the evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from typing import cast

import httpx
import structlog

from syncwell.connectors.http.call import Call
from syncwell.connectors.http.checkpoints import Position
from syncwell.connectors.http.conditional import PageTags, page_name
from syncwell.connectors.http.cursors import micros
from syncwell.connectors.http.endpoints import ReadEndpoint
from syncwell.connectors.http.filter_check import Verdict, resolution_of, verified
from syncwell.connectors.http.filters import ReadQuery, read_query
from syncwell.connectors.http.keys import list_keys
from syncwell.connectors.http.pagination import Page, Pager
from syncwell.connectors.http.records import MISSING, columns_of, dig, key_text, row_of
from syncwell.connectors.http.session import Session
from syncwell.connectors.http.whole import check_whole, ignored_page, total_of
from syncwell.connectors.http.window import Window, digest
from syncwell.errors import ConnectorError, IntegrationFatalError
from syncwell.types import ChangeBatch, Checkpoint, Clock, JSONValue, Row, StreamSpec

__all__ = ["HttpSource", "Verdict"]

log = structlog.get_logger("syncwell.connectors.http")


class HttpSource:
    """The `Source` of a ``kind: http`` system."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def aclose(self) -> None:
        await self._session.aclose()

    async def estimate(self, stream: StreamSpec) -> int | None:
        endpoint = self._endpoint(stream)
        if endpoint.total is None:
            return None
        query = read_query(endpoint, None)
        pager = Pager(endpoint, query.params, stream.batch_size)
        try:
            _, page = await self._fetch(pager, None, query)
        except ConnectorError as error:  # progress is a nicety; the read reports the failure
            log.warning("no estimate", system=self._session.name, error=str(error))
            return None
        return None if page is None else total_of(page.body, endpoint)

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        endpoint = self._endpoint(stream)
        if stream.cursor is None:
            async for whole in self._read_whole(stream, endpoint, checkpoint):
                yield whole
            return
        position = Position.resume(checkpoint, stream.cursor is not None, self._clock.wall())
        position = await self._checked(stream, endpoint, position)
        lower = position.lower_us
        start = None if lower is None else lower - round(stream.lookback_s * 1_000_000)
        query = read_query(endpoint, start)
        pager = Pager(endpoint, query.params, stream.batch_size, query.path)
        taking = _Taking(stream, position, start, _tolerance(endpoint))
        token = position.page
        while True:
            records, page = await self._fetch(pager, token, query)
            following = None if page is None else pager.next_token(token, page)
            rows, columns = taking.page(records)
            taking.warn(self._session.name)
            mark = taking.final() if following is None else taking.position.middle(following)
            yield ChangeBatch(columns, rows, None, self._clock.wall()), mark
            if following is None:
                return
            token = following

    async def _read_whole(
        self, stream: StreamSpec, endpoint: ReadEndpoint, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        """A read of a stream without a cursor: whole, or it fails.

        Its end is a pass that finds deletes by absence (engine/ledger.py), so a page an
        error rule ignores fails the read, and so does a count of records that differs from
        the API's `total`. Each page is asked for only if it changed since the last read (see
        `conditional`); a 304 page is named, for the key ledger.
        """
        position = Position.resume(checkpoint, False, self._clock.wall())
        tags = PageTags.resume(checkpoint)
        query = read_query(endpoint, None)
        pager = Pager(endpoint, query.params, stream.batch_size, query.path)
        taking = _Taking(stream, position, None, 0)
        token = position.page
        listed = _listed(checkpoint) if token is not None else 0
        total: int | None = None
        while True:
            conditions = tags.headers(token) if endpoint.conditional else {}
            records, page = await self._fetch(pager, token, query, conditions)
            if page is None:
                raise ignored_page(f"the read of '{stream.name}'", self._name)
            name, now = page_name(token), self._clock.wall()
            if page.response.status_code == 304:
                following, count = tags.unchanged(token)
                batch = ChangeBatch((), [], None, now, page=name, page_unchanged=True)
            else:
                following, count = pager.next_token(token, page), len(records)
                tags.note(token, page.response, following, count)
                total = total_of(page.body, endpoint) if total is None else total
                rows, columns = taking.page(records)
                taking.warn(self._session.name)
                batch = ChangeBatch(columns, rows, None, now, page=name)
            listed += count
            if following is None:
                check_whole(f"the read of '{stream.name}'", endpoint, listed, total, self._name)
                kept = tags.to_json()
                yield batch, {"phase": "full", "page": None, **({"tags": kept} if kept else {})}
                return
            yield batch, {"phase": "full", "page": following, "listed": listed}
            token = following

    @property
    def _name(self) -> str:
        return self._session.name

    def keys(self, stream: StreamSpec) -> AsyncIterator[Sequence[Row]]:
        """Every record's key, a page at a time (a key scan; see `keys`)."""
        return list_keys(self._fetch, self._endpoint(stream), stream, self._session.name)

    async def sample(self, stream: StreamSpec) -> list[object]:
        """The records of the first page of a full read, as the API sent them (the probe's)."""
        endpoint = self._endpoint(stream)
        query = read_query(endpoint, None)
        pager = Pager(endpoint, query.params, stream.batch_size)
        records, _ = await self._fetch(pager, None, query)
        return records

    async def check_filter(
        self, stream: StreamSpec, checkpoint: Checkpoint | None = None
    ) -> Verdict | None:
        """Run the incremental filter's self-check now (the probe's way in).

        The newest records come from `checkpoint`, or else from the first pages of a full
        read. None when the stream has no filter or cursor, or no records to ask back for.
        """
        endpoint = self._endpoint(stream)
        if endpoint.incremental is None or stream.cursor is None:
            return None
        pages = endpoint.incremental.check.max_pages if endpoint.incremental.check else 3
        position = Position.resume(checkpoint, True, self._clock.wall())
        verdict, _ = await verified(self._fetch, endpoint, stream, position.newest, pages)
        return verdict

    async def _checked(
        self, stream: StreamSpec, endpoint: ReadEndpoint, position: Position
    ) -> Position:
        """`position`, after the filter's self-check when one is due.

        Without newest records to ask back for (a checkpoint from before the check existed,
        or a filter that never returned anything), the first pages of a full read name some.

        Raises:
            IntegrationFatalError: the filter misses records it must return.
        """
        incremental, now = endpoint.incremental, self._clock.wall()
        settings = None if incremental is None else incremental.check
        due = (
            settings is not None
            and position.phase == "incremental"
            and position.page is None  # a resumed read was checked when it began
            and (position.checked is None or now - position.checked >= settings.every_s)
        )
        if not due or settings is None:
            return position
        pages = settings.max_pages
        verdict, newest = await verified(self._fetch, endpoint, stream, position.newest, pages)
        if verdict is None:
            return replace(position, checked=now)  # an empty stream: look again after every_s
        if verdict.outcome == "missed":
            raise IntegrationFatalError(verdict.message, system=self._session.name)
        replaced = bool(position.newest) and newest != position.newest
        if verdict.outcome == "inconclusive" or verdict.ignored or replaced:
            log.warning("incremental filter check", system=self._session.name, said=verdict.message)
        else:
            log.info("incremental filter check passed", system=self._session.name)
        return replace(position, checked=now, newest=newest)

    async def _fetch(
        self,
        pager: Pager,
        token: JSONValue,
        query: ReadQuery,
        conditions: Mapping[str, str] | None = None,
    ) -> tuple[list[object], Page | None]:
        """The records of page `token`, and the page (None when an error rule said ignore).

        With `conditions` (an If-None-Match), a 304 is a page without records or body.
        """
        request = pager.request(token)
        unchanged = frozenset({304}) if conditions else frozenset()
        call = Call(
            query.method, request.url, "read", request.params, query.body,
            passthrough=unchanged, headers=conditions or {},
        )  # fmt: skip
        response, outcome = await self._session.send(call)
        if outcome == "ignored":
            return [], None
        if response.status_code == 304:
            return [], Page(response, None, 0)
        body = _json(response, call, self._session.name)
        records = _records(body, pager.endpoint, call, self._session.name)
        return records, Page(response, body, len(records))

    def _endpoint(self, stream: StreamSpec) -> ReadEndpoint:
        streams = self._session.settings.streams
        configured = streams.get(stream.name)
        if configured is None or configured.read is None:
            readable = ", ".join(name for name, s in streams.items() if s.read) or "none"
            raise IntegrationFatalError(
                f"stream '{stream.name}' has no read endpoint; add streams.{stream.name}.read "
                f"to the system in syncwell.yaml (readable streams: {readable})",
                system=self._session.name,
            )
        return configured.read


class _Taking:
    """One read's judgement of its records: keyed, newer than the look-back, not seen before.

    Records that are not objects or lack a key value cannot be keyed, so they are skipped
    with a warning that counts them; a record whose cursor cannot be read is taken in as it
    is (the destination may refuse it into the dead letters).
    """

    def __init__(
        self, stream: StreamSpec, position: Position, start_us: int | None, tolerance_us: int
    ) -> None:
        self.stream = stream
        self.position = position
        self.window = Window(position.seen)
        self.lookback_us = round(stream.lookback_s * 1_000_000)
        self._start_us = start_us
        self._tolerance_us = tolerance_us
        self._skipped: Counter[str] = Counter()

    def page(self, records: list[object]) -> tuple[list[Row], tuple[str, ...]]:
        """The rows of a page worth taking in, with their columns."""
        self._skipped.clear()
        stream = self.stream
        kept: list[dict[str, object]] = []
        for record in records:
            if not isinstance(record, dict):
                self._skipped["not_object"] += 1
            elif self._keep(record):
                kept.append(record)
        needed = [*stream.key, *filter(None, (stream.cursor, stream.version))]
        columns = columns_of(kept, stream.columns, needed)
        return [row_of(record, columns) for record in kept], columns

    def final(self) -> Checkpoint:
        """The checkpoint after the last page."""
        floor = self.position.floor_us(self.lookback_us)
        return self.position.final(self.window.remembered(floor))

    def warn(self, system: str) -> None:
        """Log what the last page skipped, or took in without a readable cursor."""
        skipped, stream = self._skipped, self.stream
        if skipped["unkeyed"] or skipped["not_object"]:
            log.warning(
                "records skipped: they cannot be keyed",
                system=system,
                stream=stream.name,
                without_key=skipped["unkeyed"],
                not_objects=skipped["not_object"],
                key=list(stream.key),
            )
        if skipped["bad_cursor"]:
            log.warning(
                "records with an unreadable cursor taken in as they are",
                system=system,
                stream=stream.name,
                count=skipped["bad_cursor"],
                cursor=stream.cursor,
            )
        if skipped["older"]:
            log.warning(
                "the API returned records older than the incremental filter asked for: it "
                "seems to ignore the filter (nothing is missed, but each read is a full one); "
                "check the filter's syntax",
                system=system,
                stream=stream.name,
                count=skipped["older"],
            )

    def _keep(self, record: dict[str, object]) -> bool:
        keys = [dig(record, column) for column in self.stream.key]
        if any(value is MISSING or value is None for value in keys):
            self._skipped["unkeyed"] += 1
            return False
        if self.stream.cursor is None:
            return True
        cursor = dig(record, self.stream.cursor)
        if cursor is None or cursor is MISSING:
            return True  # never edited: the engine's key ledger compares its digest instead
        return self._fresh(cast("JSONValue", cursor), keys, record)

    def _fresh(self, cursor: JSONValue, keys: list[object], record: dict[str, object]) -> bool:
        """Whether this version of the record is new to us; notes its cursor."""
        at = micros(cursor)
        if at is None:
            self._skipped["bad_cursor"] += 1
            return True
        if self._start_us is not None and at < self._start_us:
            if at < self._start_us - self._tolerance_us:
                self._skipped["older"] += 1
            return False  # older than the look-back: taken in long ago
        key = key_text(keys)
        self.position = self.position.saw(cursor, at, key)
        floor = self.position.floor_us(self.lookback_us)
        if not self.window.holds_any and floor is not None and at < floor:
            # Nothing was taken before (a full read), and the next read's window starts past
            # this version: no need to name it. Naming hashes the record, the costliest step.
            return True
        # The values the flow moves (all, without `fields`): a field it leaves out that
        # changes on every read (a fetched_at) must not make each version look new.
        moved = self.stream.columns
        name = digest(key, cursor, [dig(record, c) for c in moved] if moved else record)
        fresh = not self.window.taken(name)
        self.window.note(name, at, floor)
        return fresh


def _listed(checkpoint: Checkpoint | None) -> int:
    """Records a read resumed in the middle had listed before it stopped."""
    found = checkpoint.get("listed") if checkpoint is not None else None
    return found if isinstance(found, int) and not isinstance(found, bool) else 0


def _tolerance(endpoint: ReadEndpoint) -> int:
    """How much older than its lower bound a record may be before the filter looks ignored.

    Two steps of the filter's format: a time written as a date covers the whole day.
    """
    return 2 * resolution_of(endpoint.incremental) if endpoint.incremental else 0


def _json(response: httpx.Response, call: Call, system: str) -> object:
    try:
        return response.json()
    except ValueError:  # not JSON (a decoding error is a ValueError too)
        excerpt = " ".join(response.text[:200].split())
        raise IntegrationFatalError(
            f"{call.method} {response.request.url.path} answered {response.status_code} "
            f"without JSON: {excerpt!r}; check base_url and the stream's read path",
            system=system,
        ) from None


def _records(body: object, endpoint: ReadEndpoint, call: Call, system: str) -> list[object]:
    found = dig(body, endpoint.records)
    if isinstance(found, list):
        return found
    if found is None:
        return []  # an API that writes null for "no records"
    if found is MISSING and endpoint.total is not None and dig(body, endpoint.total) == 0:
        return []  # an API that leaves the list out when it is empty (Mailman's `entries`)
    holds = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
    where = f"`records: {endpoint.records}`" if endpoint.records else "the body"
    raise IntegrationFatalError(
        f"{call.method} {httpx.URL(call.url).path}: no list of records at {where}; the answer "
        f"holds: {holds}. Fix the stream's read.records in syncwell.yaml",
        system=system,
    )
