"""Checking the members of a batch one by one: the bad ones are reported, the rest written."""

from __future__ import annotations

import re

from syncwell.sandbox.messy import RecordShape

__all__ = ["FIELDS", "MAX_BATCH", "SHAPE", "STATUSES", "check_member"]

MAX_BATCH = 500
STATUSES = ("subscribed", "unsubscribed", "cleaned")
FIELDS = ("email", "first_name", "last_name", "status", "tags")
SHAPE = RecordShape(required=("email", "status", "updated_at"), dates=("updated_at",))
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def check_member(item: object) -> tuple[dict[str, object] | None, list[str]]:
    """The cleaned member (email lower-cased), or None and what is wrong with it."""
    if not isinstance(item, dict):
        return None, ["a member must be a JSON object"]
    problems: list[str] = []
    email = item.get("email")
    if not isinstance(email, str) or not _EMAIL.fullmatch(email.strip()):
        problems.append(f"{email!r} is not a valid email address")
    problems += [f"unknown field {name!r}" for name in item if name not in FIELDS]
    for name in ("first_name", "last_name"):
        if item.get(name) is not None and not isinstance(item[name], str):
            problems.append(f"{name} must be a string or null")
    if "status" in item and item["status"] not in STATUSES:
        problems.append(f"status must be one of {', '.join(STATUSES)}, got {item['status']!r}")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        problems.append("tags must be a list of strings")
    if problems:
        return None, problems
    return {**item, "email": str(email).strip().lower()}, []
