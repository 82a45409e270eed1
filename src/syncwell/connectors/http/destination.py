"""Writing to a stream of an http system: upserts by key, or create then update, and deletes.

Rows become JSON records (dotted column names build nested objects). A bulk endpoint takes
the batch in chunks of its `max_batch`; others take one request per record. Every request
spends the system's budget itself, so the engine does not (`paces_itself`).

An HTTP API can rarely compare versions, so these writes are not guarded by version: the
engine will guard such destinations itself. Writes are idempotent by key: an upsert endpoint,
a create whose 409 conflict falls back to an update, or, where the tool assigns the ids
(`write.ids`), an update by the id the engine's identity map keeps (assigned.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from syncwell.connectors.http.assigned import AssignedIdWrites, Role
from syncwell.connectors.http.call import Call
from syncwell.connectors.http.endpoints import WriteConfig, WriteEndpoint, placeholders
from syncwell.connectors.http.records import key_text, record_of
from syncwell.connectors.http.sent import SentMemory
from syncwell.connectors.http.session import Session
from syncwell.connectors.http.templates import Item, fill_path, render
from syncwell.connectors.http.verify import gone_at_url, read_written
from syncwell.connectors.identity import IdentityBook
from syncwell.connectors.verify import ReadRecords
from syncwell.errors import (
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    TransientError,
)
from syncwell.types import ChangeBatch, Op, StreamSpec

__all__ = ["HttpDestination"]

_METHODS: dict[Role, str] = {
    "create": "POST",
    "update": "PATCH",
    "upsert": "PUT",
    "delete": "DELETE",
}
_CONFLICT = 409


class HttpDestination:
    """The `Destination` of a ``kind: http`` system."""

    paces_itself = True
    """Each request spends the budget here, so the engine does not acquire per write."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._sent = SentMemory()
        self.answered = 0
        """Requests of writes the system answered without an error, since it opened: a write
        of records already sent asks nothing, so the engine learns from this whether a write
        that succeeded heard from the system (engine/delivery.py, `Answering`)."""

    async def aclose(self) -> None:
        await self._session.aclose()

    def assigns_ids(self, stream: StreamSpec) -> bool:
        configured = self._session.settings.streams.get(stream.name)
        return (
            configured is not None and configured.write is not None and bool(configured.write.ids)
        )

    async def write(self, stream: StreamSpec, batch: ChangeBatch) -> None:
        await self.write_identified(stream, batch, IdentityBook())

    async def write_identified(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> None:
        config = self._config(stream)
        upserts, deletes = self._items(stream, batch.decoded())
        by_ids = self._by_ids(config)
        if upserts:
            if by_ids is not None:
                # A change already sent is skipped only where the map holds its id: one whose
                # id was learned and never committed (a failed completion) goes again, and
                # is updated by the id this delivery's book still holds.
                fresh = {id(item) for item in self._sent.unsent(stream.name, "by-id", upserts)}
                due = [i for i in upserts if id(i) in fresh or i.key_text not in book.known]
                await by_ids.upsert(
                    due, book, lambda item: self._sent.remember(stream.name, "by-id", [item])
                )
            else:
                await self._upsert(config, upserts, book)
        if deletes:
            if config.delete is None:
                raise self._refused(deletes[0], "no delete endpoint; add the stream's write.delete")
            if by_ids is not None:
                await by_ids.delete(deletes, book)
            else:
                await self._each(config, config.delete, "delete", deletes)

    async def read_written(
        self, stream: StreamSpec, batch: ChangeBatch, book: IdentityBook
    ) -> ReadRecords:
        """`Verifiable.read_written`: a GET of each record's own URL (verify.py)."""
        return await read_written(self._session, self._config(stream), stream, batch, book)

    def _by_ids(self, config: WriteConfig) -> AssignedIdWrites | None:
        if config.ids is None:
            return None
        return AssignedIdWrites(self._session.name, config, self._send_one, self._lookup)

    async def _upsert(self, config: WriteConfig, items: list[Item], book: IdentityBook) -> None:
        anew = [item for item in items if item.key_text in book.recreate]
        if anew:
            # Missing in the tool and to be created anew: whatever else would update it.
            endpoint = config.create or config.upsert
            if endpoint is None:
                raise self._refused(anew[0], "missing in the tool; no write.create recreates it")
            await self._each(config, endpoint, "create" if config.create else "upsert", anew)
            book.recreate.difference_update(item.key_text for item in anew)
            items = [item for item in items if item not in anew]
        if not items:
            return
        if config.upsert is not None:
            await self._each(config, config.upsert, "upsert", items)
        elif config.create is not None:
            await self._create(config, config.create, items)
        elif config.update is not None:
            await self._each(config, config.update, "update", items)
        else:
            raise self._refused(items[0], "no endpoint writes records; add write.upsert")

    async def _create(self, config: WriteConfig, create: WriteEndpoint, items: list[Item]) -> None:
        """Create; where it already exists (409) and an update endpoint is set, update."""
        update = config.update
        fallback = frozenset({_CONFLICT}) if update is not None else frozenset()
        items = self._sent.unsent(create.path, "create", items)
        for chunk in _chunks(create, items):
            response = await self._send(config, create, "create", chunk, fallback)
            if response is None or response.status_code != _CONFLICT or update is None:
                continue
            if len(chunk) > 1:
                # Which record conflicts is unknown: the engine halves the batch until one
                # stands alone, and that one is then updated.
                raise RecordRejectedError(
                    f"{create.path} answered 409 for a chunk of {len(chunk)}; finding the "
                    "conflicting record",
                    system=self._session.name,
                )
            await self._send(config, update, "update", chunk)

    async def _each(
        self, config: WriteConfig, endpoint: WriteEndpoint, role: Role, items: list[Item]
    ) -> None:
        items = self._sent.unsent(endpoint.path, role, items)
        for chunk in _chunks(endpoint, items):
            try:
                await self._send(config, endpoint, role, chunk)
            except RateLimitedError:
                raise  # a 429 says nothing of the record, and a GET now would earn another
            except TransientError:
                # A delete of one record that fails as if transient: done if its URL says
                # the record is gone (verify.gone_at_url), else the error stands.
                if role != "delete" or endpoint.bulk:
                    raise
                if not await gone_at_url(self._lookup, config, chunk[0], {}):
                    raise

    async def _send_one(
        self,
        endpoint: WriteEndpoint,
        role: Role,
        item: Item,
        ids: Mapping[str, str],
        headers: Mapping[str, str],
        passthrough: frozenset[int],
    ) -> httpx.Response | None:
        # One record to an endpoint that is never bulk: no item errors to read.
        return await self._send(None, endpoint, role, [item], passthrough, ids, headers)

    async def _lookup(self, call: Call) -> httpx.Response | None:
        response, outcome = await self._session.send(call)
        self.answered += 1
        return None if outcome == "ignored" else response

    async def _send(
        self,
        config: WriteConfig | None,
        endpoint: WriteEndpoint,
        role: Role,
        chunk: Sequence[Item],
        passthrough: frozenset[int] = frozenset(),
        ids: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response | None:
        """Send one request for `chunk`; the answer, or None when an error rule ignored it."""
        url = endpoint.path if endpoint.bulk else fill_path(endpoint.path, chunk[0], ids)
        if url is None:
            raise self._refused(chunk[0], f"a field that {endpoint.path} names has no value")
        template = endpoint.body
        if template is None and role != "delete":
            template = "{{record}}"
        call = Call(
            endpoint.method or _METHODS[role],
            url,
            "delete" if role == "delete" else "write",
            body=None if template is None else render(template, chunk, endpoint.item),
            keys=tuple(item.key_text for item in chunk),
            passthrough=passthrough,
            item_errors=config.errors if config is not None and endpoint.bulk else None,
            headers=headers or {},
            names_record=not endpoint.bulk and bool(placeholders(endpoint.path)),
        )
        response, outcome = await self._session.send(call)
        self.answered += 1
        if outcome == "ignored":
            return None
        if response.is_success and ids is None:
            self._sent.remember(endpoint.path, role, chunk)
        return response

    def _items(self, stream: StreamSpec, batch: ChangeBatch) -> tuple[list[Item], list[Item]]:
        """The batch's records to upsert and to delete."""
        missing = [column for column in stream.key if column not in batch.columns]
        if missing:
            raise IntegrationFatalError(
                f"key column(s) {', '.join(missing)} are not among the flow's fields "
                f"({', '.join(batch.columns)}); add them to the flow's fields",
                system=self._session.name,
            )
        at = [batch.columns.index(column) for column in stream.key]
        version = None
        if stream.version is not None and stream.version in batch.columns:
            version = batch.columns.index(stream.version)
        upserts: list[Item] = []
        deletes: list[Item] = []
        for index, row in enumerate(batch.rows):
            values = [row[i] for i in at]
            item = Item({}, values[0] if len(values) == 1 else values, key_text(values))
            try:
                record = record_of(batch.columns, row)
            except ValueError as error:
                raise self._refused(item, str(error)) from error
            kept = Item(record, item.key, item.key_text, None if version is None else row[version])
            (deletes if batch.op(index) is Op.DELETE else upserts).append(kept)
        return upserts, deletes

    def _config(self, stream: StreamSpec) -> WriteConfig:
        streams = self._session.settings.streams
        configured = streams.get(stream.name)
        if configured is None or configured.write is None:
            writable = ", ".join(name for name, s in streams.items() if s.write) or "none"
            raise IntegrationFatalError(
                f"stream '{stream.name}' has no write endpoints; add streams.{stream.name}.write "
                f"to the system in syncwell.yaml (writable streams: {writable})",
                system=self._session.name,
            )
        return configured.write

    def _refused(self, item: Item, reason: str) -> RecordRejectedError:
        return RecordRejectedError(
            f"record {item.key_text} cannot be written: {reason}",
            system=self._session.name,
            key=item.key_text,
            reason=reason,
        )


def _chunks(endpoint: WriteEndpoint, items: list[Item]) -> list[list[Item]]:
    size = endpoint.max_batch if endpoint.bulk else 1
    return [items[start : start + size] for start in range(0, len(items), size)]
