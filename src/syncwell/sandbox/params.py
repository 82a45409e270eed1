"""Reading query parameters and JSON bodies with clear 400s instead of framework 422s.

Each tool words its errors its own way (as real tools do), so this module only raises
`BadRequestError`; the tool's exception handler turns it into that tool's error body.
"""

from __future__ import annotations

import json
from typing import cast

from fastapi import Request

from syncwell.sandbox.stamps import parse_instant

__all__ = [
    "ApiError",
    "BadRequestError",
    "NotFoundError",
    "instant_param",
    "int_param",
    "read_count",
    "read_json_object",
]

_MAX_COUNT = 1000


class ApiError(Exception):
    """A request the tool refuses: answered with `status`, `message` and per-item `errors`."""

    status = 400

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


class BadRequestError(ApiError):
    """The request is wrong (400)."""


class NotFoundError(ApiError):
    """The record or collection does not exist (404)."""

    status = 404


def int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequestError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequestError(f"{name} must be between {low} and {high}, got {value}")
    return value


def instant_param(request: Request, name: str) -> str | None:
    """An ISO-8601 query parameter, checked but returned as given (None when absent)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if parse_instant(raw) is None:
        raise BadRequestError(f"{name} must be an ISO-8601 timestamp, got {raw!r}")
    return raw


async def read_json_object(request: Request) -> dict[str, object]:
    """The body as a JSON object."""
    try:
        body = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequestError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    return cast("dict[str, object]", body)


async def read_count(request: Request, default: int = 10) -> int:
    """`count` from an optional JSON body such as `{"count": 25}` (admin routes)."""
    body = await read_json_object(request) if await request.body() else {}
    count = body.get("count", default)
    if not isinstance(count, int) or not 0 <= count <= _MAX_COUNT:
        raise BadRequestError(f"count must be an integer from 0 to {_MAX_COUNT}")
    return count
