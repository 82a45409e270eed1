"""Ids the tool assigns: where a create's answer holds the new id, and how to find a record
by a natural key before creating it.

Most APIs assign their own ids, have no upsert and never answer 409 (a second POST creates a
second record). With `ids:` the engine keeps each record's id in its identity map; with
`find:` a record that has no id yet is looked up by fields that identify it (an email, an
external-id field) and updated if found, created if not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from syncwell.connectors.http.records import MISSING, dig
from syncwell.connectors.http.templates import Item, fill_path, render

__all__ = ["AssignedIds", "FindEndpoint", "created_id", "find_params", "matching"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_INLINE = re.compile(r"\{\{\s*(key|record\.[^{}\s]+)\s*\}\}")


class AssignedIds(BaseModel):
    """The tool assigns each record's id when it creates it."""

    model_config = _FROZEN

    field: str = Field(
        min_length=1,
        description="The id's name in the tool's records (e.g. id, objectId); `{<field>}` in "
        "update and delete paths is filled with the record's id from the identity map.",
    )
    column: str | None = Field(
        default=None,
        description="A field of the records syncwell writes that already holds the tool's id "
        "(a core table that keeps it, e.g. crm_id): used when the identity map has none. "
        "Default: none.",
    )
    answer: str | None = Field(
        default=None,
        description="Dotted path to the new id in a create's JSON answer, e.g. data.id. "
        "Default: `field`.",
    )
    header: str | None = Field(
        default=None,
        description="Take the new id from this header's URL instead (its last path segment), "
        "e.g. Location. Default: none.",
    )

    @property
    def answer_path(self) -> str:
        return self.answer if self.answer is not None else self.field


class FindEndpoint(BaseModel):
    """Looks a record up by fields that identify it, before it is created."""

    model_config = _FROZEN

    path: str = Field(min_length=1, description="Path under base_url; {field} from the record.")
    params: Mapping[str, JsonValue] = Field(
        default_factory=dict,
        description="Query parameters. In a text value, {{record.<path>}} and {{key}} are "
        "replaced; an object value is rendered as a body template and sent as JSON, e.g. "
        'Parse\'s where: {email: "{{record.email}}"}. Default none.',
    )
    records: str = Field(
        default="",
        description="Dotted path to the list of records in the answer; empty when the answer "
        "is the list. Default: the answer.",
    )
    by: tuple[str, ...] = Field(
        min_length=1,
        description="Fields whose values identify the record, in the tool's names; a record "
        "found counts only when each of them equals the record's own (a filter the tool "
        "ignored must not match a stranger).",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("by"), str):
            return {**data, "by": (data["by"],)}
        return data


def created_id(response: httpx.Response, ids: AssignedIds) -> str | None:
    """The id a create's answer gives the new record, or None when it gives none."""
    if ids.header is not None:
        location = response.headers.get(ids.header)
        if not location:
            return None
        segment = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        return unquote(segment) or None
    try:
        body = response.json()
    except ValueError:
        return None
    found = dig(body, ids.answer_path)
    if found is MISSING or found is None or isinstance(found, dict | list):
        return None
    return str(found)


def find_params(find: FindEndpoint, item: Item) -> dict[str, str]:
    """The lookup's query parameters for `item`."""
    params: dict[str, str] = {}
    for name, template in find.params.items():
        if isinstance(template, str):
            params[name] = _inline(template, item)
        elif isinstance(template, dict | list):
            params[name] = json.dumps(render(template, [item], "{{record}}"), default=str)
        else:
            params[name] = json.dumps(template)
    return params


def find_path(find: FindEndpoint, item: Item) -> str | None:
    return fill_path(find.path, item)


def matching(find: FindEndpoint, found: object, item: Item) -> list[dict[str, object]]:
    """The records in a lookup's answer whose `by` fields equal the record's."""
    listed = dig(found, find.records)
    if not isinstance(listed, list):
        return []
    wanted = [dig(item.record, name) for name in find.by]
    if any(value is MISSING or value is None for value in wanted):
        return []
    pairs = list(zip(find.by, wanted, strict=True))
    return [
        record
        for record in listed
        if isinstance(record, dict) and all(_same(dig(record, n), v) for n, v in pairs)
    ]


def _same(theirs: object, ours: object) -> bool:
    # Tools echo values back in their own types (a number as text): compare as text.
    return theirs is not MISSING and str(theirs) == str(ours)


def _inline(template: str, item: Item) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        found = item.key if name == "key" else dig(item.record, name.removeprefix("record."))
        return "" if found is MISSING or found is None else str(found)

    return _INLINE.sub(value, template)
