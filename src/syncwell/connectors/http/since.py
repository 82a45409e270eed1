"""The ``{since}`` placeholder of incremental filters: where the time goes and how it is written.

A template is any text (a query value, a path, a string inside a JSON body) holding
``{since}`` or ``{since:FORMAT}``. Only that placeholder is special: the braces of JSON or of
a query language stay as written. FORMAT is one of

==========  ==============================================  ==========
``iso``     ``2026-11-20T00:00:00Z`` (``.123`` when needed)  the default
``iso_ms``  ``2026-11-20T00:00:00.000Z``, always with ms
``date``    ``2026-11-20``
``unix_s``  ``1795132800``
``unix_ms`` ``1795132800000``
``%...``    a strftime pattern, e.g. ``%Y-%m-%d %H:%M:%S``
==========  ==============================================  ==========

Times are written in the filter's time zone (UTC unless told); ISO text in another zone
carries its offset. Every form rounds down, so a filter may only ask for more, never less.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import JsonValue

__all__ = [
    "NAMED_FORMATS",
    "SINCE",
    "as_query_value",
    "fill",
    "fill_json",
    "format_problem",
    "formats_in",
    "resolution_us",
    "written",
    "zone",
]

SINCE = re.compile(r"\{since(?::([^{}]*))?\}")
NAMED_FORMATS = ("iso", "iso_ms", "date", "unix_s", "unix_ms")

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = 1_000_000
_DAY = 86_400 * _SECOND
# The finest strftime directive a pattern holds decides how much a written time is rounded.
_DIRECTIVES = (
    (frozenset("fsS"), _SECOND),  # %f keeps more, but a second is the finest we rely on
    (frozenset("MR"), 60 * _SECOND),
    (frozenset("HIk"), 3600 * _SECOND),
    (frozenset("dejaAuwDFx"), _DAY),
    (frozenset("mbBh"), 31 * _DAY),
)


def zone(name: str) -> dt.tzinfo:
    """The time zone named `name` (an IANA name such as Europe/Berlin, or UTC).

    Raises:
        ValueError: no such zone, with the fix.
    """
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; write an IANA name such as Europe/Berlin, "
            "America/New_York or UTC"
        ) from None


def format_problem(form: str) -> str | None:
    """What is wrong with a placeholder's FORMAT, with the fix; None when it is usable."""
    if form in NAMED_FORMATS:
        return None
    if "%" not in form:
        named = ", ".join(NAMED_FORMATS)
        return (
            f"unknown format {form!r} in {{since:{form}}}; use one of {named}, or a strftime "
            "pattern such as {since:%Y-%m-%d %H:%M:%S}"
        )
    one, other = (dt.datetime(2024, 1, day, tzinfo=dt.UTC) for day in (1, 2))
    try:
        if one.strftime(form) == other.strftime(form):
            return f"the pattern {form!r} does not write the date; add %Y-%m-%d or similar"
    except ValueError as error:
        return f"the pattern {form!r} cannot be written: {error}"
    return None


def formats_in(template: JsonValue) -> list[str]:
    """Every FORMAT the template's placeholders name (``iso`` for a bare ``{since}``)."""
    if isinstance(template, str):
        return [match.group(1) or "iso" for match in SINCE.finditer(template)]
    if isinstance(template, list):
        return [form for part in template for form in formats_in(part)]
    if isinstance(template, dict):
        return [form for part in template.values() for form in formats_in(part)]
    return []


def resolution_us(form: str) -> int:
    """How far below the true time a value written in `form` may lie, in microseconds."""
    if form in ("iso", "iso_ms", "unix_s", "unix_ms"):
        return _SECOND  # at most a second is lost; a second is the least we allow for
    if form == "date":
        return _DAY
    found = {form[i + 1] for i in range(len(form) - 1) if form[i] == "%"}
    for directives, size in _DIRECTIVES:
        if found & directives:
            return size
    return 366 * _DAY


def fill(template: str, at_us: int, where: dt.tzinfo) -> str:
    """`template` with every ``{since...}`` written as the moment `at_us`."""
    return SINCE.sub(lambda match: written(at_us, match.group(1) or "iso", where), template)


def fill_json(template: JsonValue, at_us: int, where: dt.tzinfo) -> JsonValue:
    """A JSON template filled: a string that is exactly ``{since:unix_s}`` or
    ``{since:unix_ms}`` becomes a number, other placeholders are written into their text."""
    if isinstance(template, str):
        match = SINCE.fullmatch(template)
        if match is not None and match.group(1) in ("unix_s", "unix_ms"):
            return int(written(at_us, match.group(1), where))
        return fill(template, at_us, where)
    if isinstance(template, list):
        return [fill_json(part, at_us, where) for part in template]
    if isinstance(template, dict):
        return {name: fill_json(part, at_us, where) for name, part in template.items()}
    return template


def as_query_value(template: JsonValue) -> str:
    """A query parameter's template as text: objects and lists as compact JSON."""
    if isinstance(template, str):
        return template
    if isinstance(template, bool):
        return str(template).lower()
    if isinstance(template, int | float) or template is None:
        return "" if template is None else str(template)
    return json.dumps(template, separators=(",", ":"), ensure_ascii=False)


def written(at_us: int, form: str, where: dt.tzinfo = dt.UTC) -> str:
    """The moment `at_us` in `form`, rounded down."""
    if form == "unix_s":
        return str(at_us // _SECOND)
    if form == "unix_ms":
        return str(at_us // 1000)
    moment = (_EPOCH + dt.timedelta(microseconds=max(at_us, 0))).astimezone(where)
    if form == "date":
        return moment.date().isoformat()
    if form in ("iso", "iso_ms"):
        spec = "seconds" if form == "iso" and moment.microsecond == 0 else "milliseconds"
        text = moment.isoformat(timespec=spec)
        return text.replace("+00:00", "Z") if where is dt.UTC else text
    return moment.strftime(form)
