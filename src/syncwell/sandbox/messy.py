"""Messy records, the kinds real tools return: a field missing, a wrong type, a bad date, extras.

Only the copy in the answer is spoiled; the stored record stays clean, so the next read of the
same record is usually fine (as with a real tool's flaky serializer).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

__all__ = ["MESS_KINDS", "RecordShape", "spoil"]

MessKind = Literal["missing_field", "wrong_type", "bad_date", "extra_fields"]
MESS_KINDS: tuple[MessKind, ...] = ("missing_field", "wrong_type", "bad_date", "extra_fields")

_BAD_DATES = ("not a date", "2024-13-45T25:61:00Z", "31/12/2024 10:00", "yesterday", "")
_EXTRAS: tuple[dict[str, object], ...] = (
    {"_legacy_id": "L-000193", "hs_is_unworked": True},
    {"archived": False, "properties_with_history": None},
    {"x_import_batch": 7},
)


@dataclass(frozen=True)
class RecordShape:
    """What a record of one table must have, so the mess breaks exactly that."""

    required: tuple[str, ...]
    dates: tuple[str, ...]


def spoil(record: dict[str, object], shape: RecordShape, rng: random.Random) -> dict[str, object]:
    """A messy copy of `record`, spoiled in one way picked at random."""
    messy = dict(record)
    kind = rng.choice(MESS_KINDS)
    if kind == "missing_field":
        messy.pop(rng.choice(shape.required), None)
    elif kind == "wrong_type" and (typed := _retypable(messy)):
        name = rng.choice(typed)
        value = messy[name]
        # A number sent as a string, a list flattened to text: both seen in the wild.
        messy[name] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    elif kind == "bad_date":
        messy[rng.choice(shape.dates)] = rng.choice(_BAD_DATES)
    else:
        messy.update(rng.choice(_EXTRAS))
    return messy


def _retypable(record: dict[str, object]) -> list[str]:
    return [
        name
        for name, value in record.items()
        if isinstance(value, list) or (isinstance(value, int) and not isinstance(value, bool))
    ]
