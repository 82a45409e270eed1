"""Whether a destination's records can be listed before a flow's first write, and how they
are matched with the records the flow will write.

A flow's first sync over data that already exists on both sides must not rewrite what is
already there (1,080 equal rows PATCHed into a tool, seen in the field). So before its first
write the engine lists the destination's records for the stream, through the destination
system's own `Source`, matches them with the source's and writes only those that differ
(engine/firstsync.py). This module says, from the settings alone, whether a destination
stream can be listed that way and by which fields its records are matched: the key, or, where
the tool assigns its own ids, a natural key (`write.find.by`). `syncwell check` asks it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from syncwell.connectors.http.settings import Settings as HttpSettings
from syncwell.connectors.postgres.settings import Settings as PostgresSettings
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings

__all__ = ["Matching", "NotComparable", "matching_of"]


@dataclass(frozen=True, slots=True)
class Matching:
    """How a destination stream's records are listed and matched with the records written.

    Attributes:
        by: fields, in the destination's names, whose values identify a record on both sides:
            the key, or a natural key where the tool assigns its own ids.
        assigned_id: the tool's id in its records, where it assigns them; the engine keeps the
            id of each record it matches in the identity map, so later edits update it.
    """

    by: tuple[str, ...]
    assigned_id: str | None = None


@dataclass(frozen=True, slots=True)
class NotComparable:
    """A destination stream that cannot be compared before the first write, and why."""

    reason: str


def matching_of(settings: BaseModel, stream: str, key: tuple[str, ...]) -> Matching | NotComparable:
    """How records of `stream` (keyed by `key`, in the destination's names) are matched in
    the system `settings` describes, or why they cannot be."""
    if isinstance(settings, PostgresSettings | SqliteSettings):
        return Matching(by=key)  # a table can always be read, and is keyed like the flow
    if isinstance(settings, HttpSettings):
        return _http(settings, stream, key)
    kind = getattr(settings, "kind", type(settings).__name__)
    return NotComparable(f"a {kind} destination cannot be read, so nothing can be compared")


def _http(settings: HttpSettings, stream: str, key: tuple[str, ...]) -> Matching | NotComparable:
    configured = settings.streams.get(stream)
    if configured is None or configured.read is None:
        return NotComparable(
            f"stream '{stream}' has no `read:`, so its records cannot be listed to compare; "
            f"add streams.{stream}.read (the listing of its records)"
        )
    write = configured.write
    if write is None or write.ids is None:
        return Matching(by=key)
    if write.find is None:
        return NotComparable(
            f"the tool assigns the ids of '{stream}' and nothing names a natural key to match "
            f"its records by; add streams.{stream}.write.find with `by:` (an email, an "
            "external-id field)"
        )
    return Matching(by=write.find.by, assigned_id=write.ids.field)
