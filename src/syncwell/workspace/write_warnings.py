"""`syncwell check` warnings about how an http stream is written: the patterns that make
duplicates or leave a record in doubt against a tool that assigns its own ids."""

from __future__ import annotations

from syncwell.connectors.http.endpoints import WriteConfig

__all__ = ["write_warnings"]

_ON_409 = (
    "creates, then updates only when the create answers 409; a tool that assigns its own ids "
    "answers a second POST with a second record, so every edit would make a duplicate. If "
    "this tool assigns ids, add write.ids (and write.find to match records by a natural key); "
    "if it has an upsert, use write.upsert"
)
_NO_LOOKUP = (
    "has no write.find and no write.idempotency_header: a create whose answer is lost (a "
    "timeout, a crash) cannot be told from one that never arrived, so that record becomes a "
    "dead letter to check by hand. Add write.find with a natural key (an email, an "
    "external-id field) so syncwell looks before it creates again"
)


def write_warnings(write: WriteConfig) -> list[str]:
    """What may go wrong with writes configured like `write`."""
    found: list[str] = []
    if write.create is not None and write.update is not None and not (write.ids or write.upsert):
        found.append(_ON_409)
    if write.ids is not None and write.find is None and write.idempotency_header is None:
        found.append(_NO_LOOKUP)
    return found
