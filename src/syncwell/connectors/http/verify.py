"""Reading written records back from an http tool: a GET of each record's own URL.

Most tools list records by filter, but few let a list ask for a hundred given ids, and a
filter the tool ignores returns strangers. A record's own URL always answers for that record:
the update path (or the upsert's, or the delete's) with its ``{field}`` filled from the record,
or with the id the tool assigned (the identity map's, in the write's `IdentityBook`). The GETs
of a batch go out side by side, up to the system's `max_connections`, each spending the
system's budget like any request.

Where the record sits in the answer is where the write's body put it: an update body
``{issue: "{{record}}"}`` is read back from ``issue`` in the answer, and a field a body names
alone (``{title: "{{record.subject}}"}``) from where it put that field. `write.verify:`
names the GET of a tool whose update has no URL per record (a bulk upsert), or differs: its
answer holds the record at `record`, shaped as one `item:` of the bulk write (else whole).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from pydantic import JsonValue

from syncwell.connectors.http.call import Call
from syncwell.connectors.http.endpoints import WriteConfig, placeholders
from syncwell.connectors.http.records import MISSING, dig, key_text, record_of
from syncwell.connectors.http.templates import Item, fill_path
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.verify import ABSENT, ReadRecords
from syncwell.errors import SyncwellError, TransientError
from syncwell.types import ChangeBatch, Op, Row, StreamSpec

if TYPE_CHECKING:
    from syncwell.connectors.http.session import Session

__all__ = ["Rereading", "gone_at_url", "is_gone", "read_written", "rereading", "unreadable"]

_GONE = frozenset({404, 410})
_RECORD = "{{record}}"


@dataclass(frozen=True, slots=True)
class Rereading:
    """How one stream's records are read back.

    Attributes:
        path: the GET path of one record, with ``{field}`` placeholders.
        places: where the answer holds what was sent: record path (empty: the whole record)
            to answer path (empty: the answer itself).
        root: where the answer holds the record as the tool keeps it (its own fields too);
            None when the write places fields one by one.
    """

    path: str
    places: Mapping[str, str]
    root: str | None = None

    def answer_path(self, column: str) -> str | None:
        """Where the answer holds `column`'s value; None when the write did not send it."""
        whole = self.places.get("")
        if whole is not None:
            return _join(whole, column)
        for field, at in self.places.items():
            if column == field:
                return at
            if column.startswith(f"{field}."):
                return _join(at, column[len(field) + 1 :])
        return None


def rereading(config: WriteConfig) -> Rereading | None:
    """How the stream written by `config` is read back; None when no URL names one record."""
    if config.verify is not None:
        # The record as the tool keeps it: shaped as one element of a bulk write, else whole.
        sent = config.update or config.upsert or config.create
        shape = sent.item if sent is not None and sent.bulk else _RECORD
        at = config.verify.record
        return Rereading(config.verify.path, _places(shape, at), at)
    for endpoint in (config.update, config.upsert, config.delete):
        if endpoint is None or endpoint.bulk or not placeholders(endpoint.path):
            continue
        # A delete sends no record: its URL answers with the record itself.
        body = _RECORD if endpoint.body is None or endpoint is config.delete else endpoint.body
        places = _places(body, "")
        return Rereading(endpoint.path, places, places.get("")) if places else None
    return None


def unreadable(config: WriteConfig | None) -> str | None:
    """Why records written by `config` cannot be read back; None when they can."""
    if config is None:
        return "the stream has no write endpoints"
    if rereading(config) is not None:
        return None
    return (
        "no write endpoint names one record's URL (a {field} in its path), so syncwell cannot "
        "GET a record it wrote; add write.verify: {path: /things/{id}} (the GET of one "
        "record)"
    )


async def read_written(
    session: Session,
    config: WriteConfig,
    stream: StreamSpec,
    batch: ChangeBatch,
    book: IdentityBook,
) -> ReadRecords:
    """GET each upserted record of `batch` at its own URL (see the module's docstring)."""
    how = rereading(config)
    if how is None:
        return {}
    batch = batch.decoded()
    at = [batch.columns.index(column) for column in stream.key]
    wanted = [row for index, row in enumerate(batch.rows) if batch.op(index) is Op.UPSERT]
    gate = asyncio.Semaphore(session.settings.max_connections)
    reader = _Reader(session, config, how, batch.columns, book, stream.cursor)

    async def one(row: Row) -> tuple[str, Mapping[str, object] | None] | None:
        async with gate:
            return await reader.read(row, [row[i] for i in at])

    found = await asyncio.gather(*(one(row) for row in wanted))
    return dict(pair for pair in found if pair is not None)


@dataclass(frozen=True, slots=True)
class _Reader:
    session: Session
    config: WriteConfig
    how: Rereading
    columns: tuple[str, ...]
    book: IdentityBook
    changed_at: str | None
    """The tool's own last-change field, read where the record sits."""

    async def read(
        self, row: Row, key: list[object]
    ) -> tuple[str, Mapping[str, object] | None] | None:
        """The record's key and what its URL holds (None: nothing there); None when it could
        not be asked (no id known, a transient failure)."""
        text = key_text(key)
        record = record_of(self.columns, row)
        ids: dict[str, str] = {}
        if self.config.ids is not None:
            remote = self.book.id_of(text)
            if remote is None:
                return None
            ids[self.config.ids.field] = remote
        url = fill_path(self.how.path, Item(record, key[0] if len(key) == 1 else key, text), ids)
        if url is None:
            return None
        call = Call("GET", url, "read", keys=(text,), passthrough=_GONE)
        try:
            response, outcome = await self.session.send(call)
        except TransientError:
            return None  # proves nothing either way: not counted
        if outcome == "ignored":
            return None
        if response.status_code in _GONE:
            return text, None
        try:
            answer = response.json()
        except ValueError:
            return None
        if is_gone(self.config, response.status_code, answer):
            return text, None
        held: dict[str, object] = {}
        for column in self.columns:
            path = self.how.answer_path(column)
            if path is not None:
                value = dig(answer, path)
                held[column] = ABSENT if value is MISSING else value
        own, root = self.changed_at, self.how.root
        if own is not None and own not in held and root is not None:
            value = dig(answer, _join(root, own))
            held[own] = ABSENT if value is MISSING else value
        return text, held


async def gone_at_url(
    lookup: Callable[[Call], Awaitable[httpx.Response | None]],
    config: WriteConfig,
    item: Item,
    ids: Mapping[str, str],
) -> bool:
    """After a delete failed as if transient: whether the record's own URL (read-back's
    path) says it is gone. Request Tracker answers 500 to deleting a ticket deleted before,
    every time, so retrying would stall the flow on a record that is not there. Any doubt
    (no such URL, no answer, an answer that is not JSON) is False: the delete's own error
    then stands."""
    how = rereading(config)
    url = None if how is None else fill_path(how.path, item, ids)
    if url is None:
        return False
    call = Call("GET", url, "lookup", keys=(item.key_text,), passthrough=_GONE)
    try:
        response = await lookup(call)
    except SyncwellError:
        return False
    if response is None:
        return False
    if response.status_code in _GONE:
        return True
    try:
        answer = response.json()
    except ValueError:
        return False
    return is_gone(config, response.status_code, answer)


def is_gone(config: WriteConfig, status: int, answer: object) -> bool:
    """Whether a GET of one record says it is gone: a 404 or 410, or a record the tool keeps
    marked deleted (`write.gone`, as Request Tracker keeps a deleted ticket, Status deleted)."""
    if status in _GONE:
        return True
    if config.gone is None or not 200 <= status < 300:
        return False
    return dig(answer, config.gone.field) in config.gone.values


def _places(template: JsonValue, at: str) -> dict[str, str]:
    """Where a body template puts the record (`{{record}}`) or its fields."""
    if isinstance(template, str):
        name = template.strip().removeprefix("{{").removesuffix("}}").strip()
        if template.strip() == _RECORD:
            return {"": at}
        if template.strip().startswith("{{") and name.startswith("record."):
            return {name.removeprefix("record."): at}
        return {}
    found: dict[str, str] = {}
    if isinstance(template, dict):
        for name, part in template.items():
            found.update(_places(part, _join(at, name)))
    elif isinstance(template, list):
        for index, part in enumerate(template):
            found.update(_places(part, _join(at, str(index))))
    return found


def _join(left: str, right: str) -> str:
    return f"{left}.{right}" if left and right else left or right
