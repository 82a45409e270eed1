"""The tiny template language of write bodies and paths.

Bodies are JSON; a string that is exactly one placeholder is replaced by a value (of any JSON
type), every other value stays as written:

==========================  =========================================================
``{{record}}``              the record, as a JSON object (dotted columns nest)
``{{records}}``             the chunk's records, each rendered through ``item:``
``{{key}}``                 the record's key value (a list for a key of several fields)
``{{keys}}``                the chunk's key values
``{{version}}``             the record's version value (the flow's ``version`` column)
``{{record.<path>}}``       one field of the record, by dotted path (null when absent)
==========================  =========================================================

Paths take ``{field}``: the record's field (dotted path allowed), URL-escaped; ``{key}`` is the
record's key when the record has no field named ``key``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from pydantic import JsonValue

from syncwell.connectors.http.records import MISSING, dig

__all__ = ["Item", "fill_path", "render"]

_FIELD = re.compile(r"\{([^{}]+)\}")
_PLACEHOLDER = re.compile(r"^\{\{\s*(record|records|key|keys|version|record\.[^{}\s]+)\s*\}\}$")


@dataclass(frozen=True, slots=True)
class Item:
    """One record on its way out.

    Attributes:
        record: the record as a JSON object.
        key: the key's value (one field) or values (several).
        key_text: the key as the engine writes it, for errors.
        version: the version value, or None without a version column.
    """

    record: dict[str, object]
    key: object
    key_text: str
    version: object = None


def render(template: JsonValue, items: Sequence[Item], item_template: JsonValue) -> object:
    """The body `template` makes of `items` (one item for a single-record endpoint)."""
    if isinstance(template, str):
        return _value(template, items, item_template)
    if isinstance(template, list):
        return [render(part, items, item_template) for part in template]
    if isinstance(template, dict):
        return {name: render(part, items, item_template) for name, part in template.items()}
    return template


def _value(text: str, items: Sequence[Item], item_template: JsonValue) -> object:
    match = _PLACEHOLDER.match(text)
    if match is None:
        return text
    name = match.group(1)
    if name == "records":
        return [render(item_template, [item], item_template) for item in items]
    if name == "keys":
        return [item.key for item in items]
    first = items[0]
    if name == "record":
        return first.record
    if name == "key":
        return first.key
    if name == "version":
        return first.version
    found = dig(first.record, name.removeprefix("record."))
    return None if found is MISSING else found


def fill_path(path: str, item: Item, ids: Mapping[str, str] | None = None) -> str | None:
    """`path` with each ``{field}`` filled from the record (or from `ids`, the tool's own
    ids by name, first); None when a field has no value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1).strip()
        found = ids[name] if ids and name in ids else dig(item.record, name)
        if found is MISSING and name == "key":
            found = item.key
        if found is MISSING or found is None:
            missing = True
            return ""
        text = str(found).lower() if isinstance(found, bool) else str(found)
        return quote(text, safe="")

    filled = _FIELD.sub(value, path)
    return None if missing else filled
