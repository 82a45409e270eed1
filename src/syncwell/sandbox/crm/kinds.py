"""The CRM's object types (contacts, companies) and the validation of their batch inputs.

Validation is strict the way HubSpot's is: an unknown property, a wrong type, an invalid
option or a key twice in one batch is an error, and one error fails the whole batch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from syncwell.sandbox.messy import RecordShape
from syncwell.sandbox.params import BadRequestError
from syncwell.sandbox.seed import LIFECYCLE_STAGES

__all__ = ["COMPANIES", "CONTACTS", "KINDS", "MAX_BATCH", "Kind", "validate_inputs"]

MAX_BATCH = 100
READ_ONLY = frozenset({"id", "created_at", "updated_at"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")


@dataclass(frozen=True)
class Kind:
    """One object type: its table, its key (the id property) and its writable properties."""

    table: str
    singular: str
    key: str
    properties: Mapping[str, type]
    """Writable properties besides the key, each a `str` or an `int` (null is always allowed)."""
    options: Mapping[str, tuple[str, ...]]
    """Properties that only take one of the listed values."""
    key_pattern: re.Pattern[str]
    shape: RecordShape

    @property
    def columns(self) -> tuple[str, ...]:
        return ("id", self.key, *self.properties, "created_at", "updated_at")

    def key_problem(self, value: object) -> str | None:
        """Why `value` is not a valid key, or None."""
        if not isinstance(value, str) or not value.strip():
            return f"{self.key} is required"
        if not self.key_pattern.fullmatch(value.strip().lower()):
            return f"invalid {self.key} {value!r}"
        return None


def _shape(key: str, dates: tuple[str, ...] = ("created_at", "updated_at")) -> RecordShape:
    return RecordShape(required=("id", key, "updated_at"), dates=dates)


CONTACTS = Kind(
    table="contacts",
    singular="contact",
    key="email",
    properties={
        "first_name": str,
        "last_name": str,
        "phone": str,
        "company_domain": str,
        "lifecycle_stage": str,
    },
    options={"lifecycle_stage": LIFECYCLE_STAGES},
    key_pattern=_EMAIL,
    shape=_shape("email"),
)
COMPANIES = Kind(
    table="companies",
    singular="company",
    key="domain",
    properties={"name": str, "industry": str, "employees": int},
    options={},
    key_pattern=_DOMAIN,
    shape=_shape("domain"),
)
KINDS = {kind.table: kind for kind in (CONTACTS, COMPANIES)}


def validate_inputs(kind: Kind, inputs: object) -> list[dict[str, object]]:
    """The batch's inputs, cleaned: keys lower-cased, read-only properties dropped.

    Raises:
        BadRequestError: for a batch that is too big, or with one error per bad input.
    """
    if not isinstance(inputs, list):
        raise BadRequestError("the body needs an `inputs` list")
    if len(inputs) > MAX_BATCH:
        raise BadRequestError(
            f"a batch takes at most {MAX_BATCH} inputs, got {len(inputs)}; split it up"
        )
    cleaned: list[dict[str, object]] = []
    errors: list[dict[str, object]] = []
    seen: set[str] = set()
    for index, item in enumerate(inputs):
        problems = _problems(kind, item)
        key = item.get(kind.key) if isinstance(item, dict) else None
        if not problems and isinstance(item, dict):
            clean = _clean(kind, item)
            if clean[kind.key] in seen:
                problems.append(f"{kind.key} {key!r} appears more than once in this batch")
            seen.add(str(clean[kind.key]))
            cleaned.append(clean)
        errors += [{"index": index, kind.key: key, "message": text} for text in problems]
    if errors:
        raise BadRequestError(
            f"{len({e['index'] for e in errors})} of {len(inputs)} inputs are invalid; "
            "nothing was written",
            errors,
        )
    return cleaned


def _problems(kind: Kind, item: object) -> list[str]:
    if not isinstance(item, dict):
        return ["an input must be a JSON object"]
    problems = [problem] if (problem := kind.key_problem(item.get(kind.key))) else []
    for name, value in item.items():
        if name == kind.key or name in READ_ONLY:
            continue
        expected = kind.properties.get(name)
        if expected is None:
            problems.append(f"property {name!r} does not exist on {kind.table}")
        elif value is not None and (type(value) is not expected):
            problems.append(f"property {name!r} must be {expected.__name__} or null")
        elif value is not None and name in kind.options and value not in kind.options[name]:
            allowed = ", ".join(kind.options[name])
            problems.append(f"{value!r} is not a valid {name}; allowed: {allowed}")
    return problems


def _clean(kind: Kind, item: dict[str, object]) -> dict[str, object]:
    # Keys are case-insensitive and stored lower-cased, as HubSpot does with emails.
    clean: dict[str, object] = {kind.key: str(item[kind.key]).strip().lower()}
    clean |= {name: value for name, value in item.items() if name in kind.properties}
    return clean
