"""Reading a stream of an http system: page by page, a first full read, then incremental.

Each page becomes one batch, yielded with the checkpoint of the page after it (see
`checkpoints` for the shape), so a read that fails resumes at the first page not committed.
Incremental reads filter by the flow's cursor minus its look-back, and skip the versions the
last read already took in (see `window`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import cast

import httpx
import structlog

from syncwell.connectors.http.call import Call
from syncwell.connectors.http.checkpoints import Position
from syncwell.connectors.http.cursors import micros, written
from syncwell.connectors.http.endpoints import ReadEndpoint
from syncwell.connectors.http.pagination import Page, Pager
from syncwell.connectors.http.records import MISSING, columns_of, dig, key_text, row_of
from syncwell.connectors.http.session import Session
from syncwell.connectors.http.window import Window, digest
from syncwell.errors import ConnectorError, IntegrationFatalError
from syncwell.types import ChangeBatch, Checkpoint, Clock, JSONValue, Row, StreamSpec

__all__ = ["HttpSource"]

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
        pager = Pager(endpoint, _params(endpoint), stream.batch_size)
        try:
            _, page = await self._fetch(pager, None, endpoint)
        except ConnectorError as error:  # progress is a nicety; the read reports the failure
            log.warning("no estimate", system=self._session.name, error=str(error))
            return None
        total = None if page is None else dig(page.body, endpoint.total)
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    async def read(
        self, stream: StreamSpec, checkpoint: Checkpoint | None
    ) -> AsyncIterator[tuple[ChangeBatch, Checkpoint]]:
        endpoint = self._endpoint(stream)
        position = Position.resume(checkpoint, stream.cursor is not None, self._clock.wall())
        lower = position.lower_us
        start = None if lower is None else lower - round(stream.lookback_s * 1_000_000)
        pager = Pager(endpoint, _params(endpoint, start), stream.batch_size)
        taking = _Taking(stream, position, start)
        token = position.page
        while True:
            records, page = await self._fetch(pager, token, endpoint)
            following = None if page is None else pager.next_token(token, page)
            rows, columns = taking.page(records)
            taking.warn(self._session.name)
            mark = taking.final() if following is None else taking.position.middle(following)
            yield ChangeBatch(columns, rows, None, self._clock.wall()), mark
            if following is None:
                return
            token = following

    async def _fetch(
        self, pager: Pager, token: JSONValue, endpoint: ReadEndpoint
    ) -> tuple[list[object], Page | None]:
        """The records of page `token`, and the page (None when an error rule said ignore)."""
        request = pager.request(token)
        call = Call(endpoint.method, request.url, "read", request.params, endpoint.body)
        response, outcome = await self._session.send(call)
        if outcome == "ignored":
            return [], None
        body = _json(response, call, self._session.name)
        records = _records(body, endpoint, call, self._session.name)
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

    def __init__(self, stream: StreamSpec, position: Position, start_us: int | None) -> None:
        self.stream = stream
        self.position = position
        self.window = Window(position.seen)
        self.lookback_us = round(stream.lookback_s * 1_000_000)
        self._start_us = start_us
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

    def _keep(self, record: dict[str, object]) -> bool:
        keys = [dig(record, column) for column in self.stream.key]
        if any(value is MISSING or value is None for value in keys):
            self._skipped["unkeyed"] += 1
            return False
        if self.stream.cursor is None:
            return True
        return self._fresh(cast("JSONValue", dig(record, self.stream.cursor)), keys)

    def _fresh(self, cursor: JSONValue, keys: list[object]) -> bool:
        """Whether this version of the record is new to us; notes its cursor."""
        at = micros(cursor)
        if at is None:
            self._skipped["bad_cursor"] += 1
            return True
        if self._start_us is not None and at < self._start_us:
            return False  # older than the look-back: taken in long ago
        name = digest(key_text(keys), cursor)
        self.position = self.position.saw(cursor, at)
        fresh = not self.window.taken(name)
        self.window.note(name, at, self.position.floor_us(self.lookback_us))
        return fresh


def _params(endpoint: ReadEndpoint, start_us: int | None = None) -> dict[str, str]:
    params = {name: _text(value) for name, value in endpoint.params.items()}
    if start_us is not None and endpoint.incremental is not None:
        params[endpoint.incremental.param] = written(start_us, endpoint.incremental.format)
    return params


def _text(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


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
    holds = ", ".join(map(str, body)) if isinstance(body, dict) else type(body).__name__
    where = f"`records: {endpoint.records}`" if endpoint.records else "the body"
    raise IntegrationFatalError(
        f"{call.method} {httpx.URL(call.url).path}: no list of records at {where}; the answer "
        f"holds: {holds}. Fix the stream's read.records in syncwell.yaml",
        system=system,
    )
