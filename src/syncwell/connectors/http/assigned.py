"""Writing to a stream whose tool assigns the ids: update by the mapped id, else find, else
create and keep the id the answer gives.

A create is the one write that is not idempotent: sent twice, it makes two records. So every
path to a second create goes through a check. A record whose create may have reached the tool
unanswered (a timeout, or a crash the identity map remembers) is looked up by `find:` first;
without one it is created again only under the same idempotency key, and otherwise
dead-lettered with the reason, never duplicated in silence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal

import httpx

from syncwell.connectors.http.call import Call
from syncwell.connectors.http.endpoints import WriteConfig, WriteEndpoint, placeholders
from syncwell.connectors.http.ids import (
    AssignedIds,
    FindEndpoint,
    created_id,
    find_params,
    find_path,
    matching,
)
from syncwell.connectors.http.records import MISSING, dig
from syncwell.connectors.http.templates import Item
from syncwell.connectors.http.verify import gone_at_url
from syncwell.connectors.identity import IdentityBook
from syncwell.errors import (
    IntegrationFatalError,
    RateLimitedError,
    RecordRejectedError,
    TransientError,
)

__all__ = ["AssignedIdWrites", "Lookup", "Role", "SendOne"]

Role = Literal["create", "update", "upsert", "delete"]
_CONFLICT = 409


SendOne = Callable[
    [WriteEndpoint, Role, Item, Mapping[str, str], Mapping[str, str], frozenset[int]],
    Awaitable[httpx.Response | None],
]
"""Send one record to an endpoint: (endpoint, role, item, ids, headers, passthrough)."""
Lookup = Callable[[Call], Awaitable[httpx.Response | None]]
"""Send a lookup call; its answer (a 404 too, where the call passes it through), or None
when an error rule ignored it."""


class AssignedIdWrites:
    """Upserts and deletes of one stream by the ids its tool assigned."""

    def __init__(self, system: str, config: WriteConfig, send: SendOne, lookup: Lookup) -> None:
        assert config.ids is not None and config.create is not None, "checked by WriteConfig"
        self._system = system
        self._config = config
        self._ids: AssignedIds = config.ids
        self._create: WriteEndpoint = config.create
        self._send = send
        self._lookup = lookup

    async def upsert(
        self, items: Sequence[Item], book: IdentityBook, written: Callable[[Item], None]
    ) -> None:
        """Update each record by its id, finding or creating the ones that have none;
        `written` hears of each record as soon as the tool took it."""
        for item in items:
            remote = self._known(item, book)
            if remote is None and self._config.find is not None:
                remote = await self._find(self._config.find, item, book)
            if remote is None:
                await self._create_one(item, book)
            else:
                await self._update_one(item, remote)
            written(item)

    async def delete(self, items: Sequence[Item], book: IdentityBook) -> None:
        """Delete each record by its id; a record the tool never got has nothing to delete."""
        endpoint = self._config.delete
        assert endpoint is not None, "the caller checks for a delete endpoint"
        for item in items:
            remote = self._known(item, book)
            if remote is None and self._config.find is not None:
                remote = await self._find(self._config.find, item, book)
            if remote is None:
                if item.key_text in book.uncertain:
                    raise self._unsure(item)
                continue  # syncwell never created it, and no lookup finds it: nothing there
            try:
                await self._send(endpoint, "delete", item, self._named(remote), {}, frozenset())
            except RateLimitedError:
                raise  # a 429 says nothing of the record, and a GET now would earn another
            except TransientError:
                if not await gone_at_url(self._lookup, self._config, item, self._named(remote)):
                    raise
            book.lose(item.key_text)

    def _known(self, item: Item, book: IdentityBook) -> str | None:
        """The record's id: from the identity map, or carried by the record itself (a core
        table that keeps the tool's id in a column mapped to the id's name)."""
        remote = book.id_of(item.key_text)
        if remote is not None or item.key_text in book.recreate or self._ids.column is None:
            return remote
        own = dig(item.record, self._ids.column)
        if own is MISSING or own is None or own == "":
            return None
        book.learn(item.key_text, str(own))
        return str(own)

    async def _update_one(self, item: Item, remote: str) -> None:
        update = self._config.update
        if update is None:
            # Counted as written while never sent would be a silent loss: refuse it, loudly.
            raise self._refused(
                item,
                f"{self._system} already holds this record (id {remote}) and the stream has "
                "no write.update to send the edit: add write.update",
            )
        await self._send(update, "update", item, self._named(remote), {}, frozenset())

    async def _create_one(self, item: Item, book: IdentityBook) -> None:
        key = item.key_text
        if key in book.uncertain and self._config.idempotency_header is None:
            raise self._unsure(item)
        passthrough = frozenset({_CONFLICT})
        await book.open_create(key)
        headers = self._idempotency(item, book)
        try:
            response = await self._send(self._create, "create", item, {}, headers, passthrough)
        except TransientError as error:
            if _may_have_arrived(error):
                book.uncertain.add(key)  # the next try looks before it creates
            raise
        if response is None:
            return  # an error rule said to ignore this answer
        if response.status_code == _CONFLICT:
            await self._after_conflict(item, book)
            return
        remote = created_id(response, self._ids)
        if remote is None:
            book.uncertain.add(key)
            where = f"header {self._ids.header}" if self._ids.header else self._ids.answer_path
            raise IntegrationFatalError(
                f"{self._create.path} created record {key} but its answer has no id at "
                f"`{where}`; set write.ids.answer (a dotted path in the answer) or "
                "write.ids.header (e.g. Location) to where the new id is",
                system=self._system,
            )
        book.learn(key, remote)

    async def _after_conflict(self, item: Item, book: IdentityBook) -> None:
        find = self._config.find
        remote = None if find is None else await self._find(find, item, book)
        if remote is None:
            reason = (
                f"{self._create.path} answered 409: the record exists in {self._system}, and "
                "syncwell does not know its id; add write.find to look it up by a natural key"
            )
            raise RecordRejectedError(reason, system=self._system, key=item.key_text, reason=reason)
        await self._update_one(item, remote)

    async def _find(self, find: FindEndpoint, item: Item, book: IdentityBook) -> str | None:
        """The id of the one record the tool holds with the record's `by` fields."""
        path = find_path(find, item)
        if path is None:
            raise self._refused(item, f"a field that {find.path} names has no value")
        # A lookup made for one record: a 4xx refuses that record, not the whole flow (a
        # value with a quote can break a query language such as RT's TicketSQL).
        params = find_params(find, item)
        # A 404 at a lookup URL of its own (`/contacts/by-email/{email}`) says "no such
        # record"; at a listing's URL it says the path is wrong, which must not pass as "none
        # found, create it" (a duplicate per record): that refusal names the path instead.
        not_found = frozenset({404}) if placeholders(find.path) else frozenset()
        call = Call(
            "GET", path, "lookup", params=params, keys=(item.key_text,), passthrough=not_found
        )
        response = await self._lookup(call)
        if response is None or response.status_code == 404:
            return None
        try:
            body = response.json()
        except ValueError as error:
            raise TransientError(
                f"GET {find.path} did not answer JSON ({error})", system=self._system
            ) from error
        found = matching(find, body, item)
        if len(found) > 1:
            by = ", ".join(find.by)
            raise self._refused(
                item,
                f"{len(found)} records in {self._system} have the same {by}; syncwell cannot "
                "tell which is this one: merge them there, then replay this dead letter",
            )
        if not found:
            return None
        remote = dig(found[0], self._ids.field)
        if remote is MISSING or remote is None:
            raise IntegrationFatalError(
                f"records found at {find.path} carry no `{self._ids.field}`; set write.ids.field "
                "to the name of the tool's id in its records",
                system=self._system,
            )
        book.learn(item.key_text, str(remote))
        return str(remote)

    def _idempotency(self, item: Item, book: IdentityBook) -> dict[str, str]:
        """The create's idempotency header: the same for every try of one create of one
        record (after a crash too), new for the next create of that key: after the record
        was deleted, or when a missing record is created anew. (A key made of the record's
        key alone made a tool that honours keys for a day answer a create after a delete
        with the deleted record.)"""
        header = self._config.idempotency_header
        if header is None:
            return {}
        token = book.create_token(item.key_text)
        seed = f"{self._create.path}\0{item.key_text}\0{token}".encode()
        return {header: hashlib.blake2b(seed, digest_size=16).hexdigest()}

    def _named(self, remote: str) -> dict[str, str]:
        return {self._ids.field: remote}

    def _unsure(self, item: Item) -> RecordRejectedError:
        return self._refused(
            item,
            f"a create of this record may have reached {self._system} without syncwell "
            "hearing its id (a crash or a timeout). Without write.find (a lookup by natural "
            "key) or write.idempotency_header, creating it again could make a duplicate. "
            f"Look for it in {self._system}: if it is there, discard this dead letter; if "
            "not, replay it",
        )

    def _refused(self, item: Item, reason: str) -> RecordRejectedError:
        return RecordRejectedError(
            f"record {item.key_text} cannot be written: {reason}",
            system=self._system,
            key=item.key_text,
            reason=reason,
        )


def _may_have_arrived(error: TransientError) -> bool:
    """Whether the request went out and its answer was lost (not refused at connect)."""
    cause = error.__cause__
    if not isinstance(cause, httpx.HTTPError):
        return False
    return not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
