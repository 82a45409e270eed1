"""Which of a flow's columns its destination never receives.

A tool sets some columns itself: its own updated-at (the cursor a flow reading it back goes by)
and its created-at. Many refuse a write that carries them, so every record would be
dead-lettered. The engine still needs the flow's cursor and version (checkpoints, the version
guard), so these columns travel as usual and are left out only of what the destination
receives, at the moment of writing (engine/writable.py).

What is never sent:

* `read_only:` columns, on any destination;
* with `write_fields:`, every column it does not name (and then no defaults apply: naming a
  column there is how to send one the defaults leave out);
* by default, for a tool (`TOOL_KINDS`): the cursor and version its reverse flow reads it by,
  and columns named like a created-at (`CREATED_AT_NAMES`).

Never left out, whatever the lists say: the columns a destination needs to place the write
(`needed_columns`): the key, a database's version column, and the record fields an http write
endpoint's path or body names.

Names are the destination's: the tool refuses `CreatedAt`, so that is what `read_only:` says.
Where `fields:` renames a column, its source name is taken too, unless a destination column is
called that (then the destination's column is meant).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, JsonValue

from syncwell.connectors.http.endpoints import placeholders
from syncwell.connectors.http.settings import Settings as HttpSettings
from syncwell.workspace.pairs import reverse_of

if TYPE_CHECKING:
    from syncwell.workspace.model import Flow, System, Workspace

__all__ = [
    "CREATED_AT_NAMES",
    "DATABASE_KINDS",
    "TOOL_KINDS",
    "UPDATED_AT_NAMES",
    "Unsent",
    "destination_name",
    "is_created_at",
    "is_updated_at",
    "needed_columns",
    "own_cursor",
    "unsent_of",
]

CREATED_AT_NAMES = frozenset(
    {
        "created",
        "createdat",
        "createdon",
        "createdtime",
        "creationdate",
        "datecreated",
        "insertedat",
    }
)
"""Created-at columns, compared in lower case without ``_`` and ``-``: ``created_at``,
``createdAt``, ``CreatedAt``, ``created``, ``created_on``, ``created_time``, ``creation_date``,
``date_created``, ``inserted_at`` and their other spellings."""

UPDATED_AT_NAMES = frozenset(
    {
        "dateupdated",
        "datemodified",
        "lastmodified",
        "lastmodifiedat",
        "lastupdated",
        "lastupdatedat",
        "modified",
        "modifiedat",
        "modifiedon",
        "updated",
        "updatedat",
        "updatedon",
    }
)
"""Updated-at columns, compared as `CREATED_AT_NAMES` are. Not left out by default (only a
reverse flow's cursor says for sure which column the tool sets): `syncwell check` warns."""

TOOL_KINDS = frozenset({"http"})
"""Destinations that are not sent their own cursor and created-at columns by default: a tool's
API sets them itself. A database's merge sets columns by name (writing its updated_at is
usually what people want), and a webhook receiver is sent the whole record."""

DATABASE_KINDS = frozenset({"postgres", "sqlite"})
"""Destinations whose merge compares the version column, so it is always sent."""

# A template's record fields: {{record.<path>}} and {{version}} (connectors/http/templates.py).
_TEMPLATE_FIELD = re.compile(r"\{\{\s*(version|record\.[^{}\s]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Unsent:
    """What a flow never sends to its destination, in the destination's column names.

    Attributes:
        read_only: columns never sent.
        only: when set, the only columns sent besides `needed` (the flow's `write_fields`).
        created_at: leave out columns named like a created-at (`CREATED_AT_NAMES`).
        needed: record fields always sent, as dotted paths: a column is needed when it is
            one of them, holds one (`address` for `address.city`) or lies inside one.
    """

    read_only: frozenset[str] = frozenset()
    only: frozenset[str] | None = None
    created_at: bool = False
    needed: frozenset[str] = frozenset()

    @property
    def nothing(self) -> bool:
        """Whether every column is sent, so a write need not look at its columns."""
        return not self.read_only and self.only is None and not self.created_at

    def sent(self, column: str) -> bool:
        """Whether the destination receives `column`."""
        if any(_overlap(column, path) for path in self.needed):
            return True
        if column in self.read_only:
            return False
        if self.only is not None:
            return column in self.only
        return not (self.created_at and is_created_at(column))


def unsent_of(flow: Flow, workspace: Workspace) -> Unsent:
    """What `flow` never sends to its destination (the rules are in the module's docstring)."""
    destination = workspace.systems[flow.destination]
    read_only = {destination_name(flow, name) or name for name in flow.read_only}
    only = None
    if flow.write_fields is not None:
        only = frozenset(destination_name(flow, name) or name for name in flow.write_fields)
    defaults = only is None and destination.kind in TOOL_KINDS
    if defaults:
        read_only |= own_cursor(flow, workspace)
    needed = frozenset(needed_columns(flow, destination))
    return Unsent(frozenset(read_only), only, defaults, needed)


def own_cursor(flow: Flow, workspace: Workspace) -> frozenset[str]:
    """The destination's own cursor and version columns, where a flow reads them back.

    The reverse flow reads the stream `flow` writes, so its source names are the destination's.
    """
    reverse = reverse_of(flow, workspace.flows)
    if reverse is None:
        return frozenset()
    return frozenset(column for column in (reverse.cursor, reverse.version) if column)


def destination_name(flow: Flow, name: str) -> str | None:
    """`name` as the destination calls it, or None when the flow moves no such column.

    Without `fields:` every column moves under its own name, so any name is taken as it is.
    """
    if not flow.fields or name in flow.fields.values():
        return name
    return flow.fields.get(name)


def is_created_at(column: str) -> bool:
    """Whether `column` is named like a created-at column (`CREATED_AT_NAMES`)."""
    return _plain(column) in CREATED_AT_NAMES


def is_updated_at(column: str) -> bool:
    """Whether `column` is named like an updated-at column (`UPDATED_AT_NAMES`)."""
    return _plain(column) in UPDATED_AT_NAMES


def needed_columns(flow: Flow, destination: System) -> dict[str, str]:
    """The record fields the destination needs to place a write, each with the reason.

    Dotted paths in the destination's names; the reasons finish a sentence about the field.
    """
    spec = flow.destination_spec()
    why = dict.fromkeys(spec.key, "is the key: the destination finds the record by it")
    # A flow whose source wins conflicts writes without a version guard (runner.py).
    if destination.kind in DATABASE_KINDS and spec.version and flow.conflict != flow.source:
        why.setdefault(
            spec.version,
            f"is the version column: a {destination.kind} destination's merge compares it, so "
            "an older change never overwrites a newer one",
        )
    for role, endpoint in _write_endpoints(flow, destination):
        path = getattr(endpoint, "path", None)
        for field in placeholders(path) if isinstance(path, str) else ():
            why.setdefault(field.strip(), f"fills write.{role}'s path {path}")
        for part in ("body", "item", "params"):
            for field in _template_fields(getattr(endpoint, part, None)):
                name = spec.version if field == "version" else field.removeprefix("record.")
                if name:
                    why.setdefault(name, f"is named by write.{role}'s {part}")
        for field in getattr(endpoint, "by", ()):
            if isinstance(field, str):
                why.setdefault(field, f"is compared by write.{role} to find the record")
    return why


def _write_endpoints(flow: Flow, destination: System) -> Iterator[tuple[str, BaseModel]]:
    """Each endpoint of the stream `flow` writes (upsert, create, update, delete, find...)."""
    settings = destination.settings
    if not isinstance(settings, HttpSettings) or flow.target not in settings.streams:
        return
    write = settings.streams[flow.target].write
    if write is None:
        return
    for role in type(write).model_fields:
        endpoint = getattr(write, role)
        if isinstance(endpoint, BaseModel):
            yield role, endpoint


def _template_fields(template: JsonValue | object) -> Iterator[str]:
    """The ``version`` and ``record.<path>`` placeholders anywhere in a template."""
    if isinstance(template, str):
        yield from _TEMPLATE_FIELD.findall(template)
    elif isinstance(template, list):
        for part in template:
            yield from _template_fields(part)
    elif isinstance(template, dict):
        for part in template.values():
            yield from _template_fields(part)


def _overlap(column: str, path: str) -> bool:
    """Whether `column` and the record path `path` name the same field or one inside the
    other (a column ``address`` holds ``address.city``; ``address.city`` lies in ``address``)."""
    return column == path or path.startswith(column + ".") or column.startswith(path + ".")


def _plain(column: str) -> str:
    return column.lower().replace("_", "").replace("-", "")
