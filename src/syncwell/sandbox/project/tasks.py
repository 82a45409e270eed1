"""What a task may hold, and checking a create or a patch against it."""

from __future__ import annotations

import re

from syncwell.sandbox.messy import RecordShape
from syncwell.sandbox.params import BadRequestError
from syncwell.sandbox.stamps import parse_date

__all__ = ["SHAPE", "STATUSES", "check_task"]

STATUSES = ("todo", "doing", "done")
SHAPE = RecordShape(required=("id", "title", "status", "modified_at"), dates=("modified_at",))
_WRITABLE = ("title", "status", "assignee_email", "contact_email", "due_date")
_READ_ONLY = frozenset({"id", "modified_at"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_MAX_TITLE = 200


def check_task(body: dict[str, object], *, partial: bool) -> dict[str, object]:
    """The writable fields of `body`, checked; a create (`partial=False`) needs a title.

    Raises:
        BadRequestError: listing every bad field.
    """
    problems: list[dict[str, object]] = [
        {"field": name, "message": "unknown field"}
        for name in body
        if name not in _WRITABLE and name not in _READ_ONLY
    ]
    fields = {name: value for name, value in body.items() if name in _WRITABLE}
    if not partial and "title" not in fields:
        problems.append({"field": "title", "message": "required"})
    for name, value in fields.items():
        if (problem := _problem(name, value)) is not None:
            problems.append({"field": name, "message": problem})
    if problems:
        names = ", ".join(str(problem["field"]) for problem in problems)
        raise BadRequestError(f"invalid task fields: {names}", problems)
    if partial and not fields:
        raise BadRequestError("nothing to change: give at least one of " + ", ".join(_WRITABLE))
    return fields


def _problem(name: str, value: object) -> str | None:
    if name == "title":
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TITLE:
            return f"must be a non-empty string of at most {_MAX_TITLE} characters"
    elif name == "status":
        if value not in STATUSES:
            return f"must be one of {', '.join(STATUSES)}"
    elif value is None:
        return None
    elif name == "due_date":
        if not isinstance(value, str) or parse_date(value) is None:
            return "must be a date as YYYY-MM-DD, or null"
    elif not isinstance(value, str) or not _EMAIL.fullmatch(value):
        return "must be an email address, or null"
    return None
