"""The ``incremental:`` block of a read endpoint: the filter in the API's own syntax, and how
often it checks itself.

The templates' placeholder and formats are described in `syncwell.connectors.http.since`;
what the self-check does, in `syncwell.connectors.http.filter_check`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from syncwell.connectors.http import since
from syncwell.connectors.http.cursors import CursorFormat

__all__ = ["FilterCheck", "Incremental"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class FilterCheck(BaseModel):
    """How often an incremental filter proves that it returns what changed.

    The check asks the filter for records since just before the newest ones already read,
    and stops the flow when they do not come back (docs/connectors/http.md, "The filter
    checks itself").
    """

    model_config = _FROZEN

    every_s: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds between checks at least: the first runs after the first full "
        "read, the next before the first incremental read this long after it; 0 checks "
        "before every incremental read. Default 3600.",
    )
    max_pages: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Pages one check reads at most; an answer longer than that is "
        "inconclusive (a warning, not a failure). Default 3.",
    )


class Incremental(BaseModel):
    """How a read asks for records changed since the flow's cursor, in the API's own syntax.

    `params`, `path` and `body` are templates: ``{since}`` or ``{since:FORMAT}`` stands for
    the time (see `syncwell.connectors.http.since`); everything else is sent as written.
    """

    model_config = _FROZEN

    param: str | None = Field(
        default=None,
        min_length=1,
        description="Shorthand: the query parameter that takes the time as it is, e.g. "
        "updated_since; the same as params: {updated_since: '{since:<format>}'}.",
    )
    format: CursorFormat | None = Field(
        default=None,
        description="With `param:` only: iso (2024-05-01T12:00:00Z), unix_s or unix_ms. "
        "Default iso.",
    )
    params: Mapping[str, JsonValue] = Field(
        default_factory=dict,
        description="Query parameters of incremental reads, merged over read.params; values "
        "are templates, and an object or list is sent as JSON. Default none.",
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        description="Path of incremental reads instead of read.path; a template (the time "
        "is URL-escaped). Default: read.path.",
    )
    body: JsonValue = Field(
        default=None,
        description="JSON template deep-merged into read.body of a POST read; a string that "
        "is exactly {since:unix_s} or {since:unix_ms} becomes a number. Default none.",
    )
    timezone: str = Field(
        default="UTC",
        description="Time zone the time is written in, an IANA name such as Europe/Berlin. "
        "Default UTC.",
    )
    check: FilterCheck | None = Field(
        default_factory=FilterCheck,
        description="How often the filter checks itself; false turns the check off. "
        "Default: after the first full read, then at most hourly.",
    )

    @field_validator("check", mode="before")
    @classmethod
    def _on_or_off(cls, value: object) -> object:
        if value is True:
            return {}
        return None if value is False else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        since.zone(value)
        return value

    @model_validator(mode="after")
    def _says_where_the_time_goes(self) -> Incremental:
        if self.format is not None and self.param is None:
            raise ValueError(
                "incremental format: goes with param:; inside params:, path: or body: write "
                "the format in the placeholder instead, e.g. '{since:unix_ms}'"
            )
        if self.param is not None and self.param in self.params:
            raise ValueError(
                f"incremental param: {self.param} is also under params:; keep one of the two"
            )
        found = self.formats()
        if not found:
            raise ValueError(
                "incremental: nothing says where the time goes; put {since} in a params "
                "value, the path or the body, e.g. params: {updated_since: '>={since}'}"
            )
        for form in found:
            if (problem := since.format_problem(form)) is not None:
                raise ValueError(f"incremental: {problem}")
        other = re.findall(r"\{[^{}]*\}", since.SINCE.sub("", self.path or ""))
        if other:
            raise ValueError(
                f"incremental path: {', '.join(other)} is not filled in a read path; only "
                "{since} is (write the value itself, e.g. /lists/L1/members)"
            )
        return self

    def templates(self) -> dict[str, JsonValue]:
        """The query templates, the `param:` shorthand included."""
        templates = dict(self.params)
        if self.param is not None:
            templates[self.param] = f"{{since:{self.format or 'iso'}}}"
        return templates

    def formats(self) -> list[str]:
        """Every format the templates write the time in."""
        parts: list[JsonValue] = [*self.templates().values(), self.path, self.body]
        return [form for part in parts for form in since.formats_in(part)]
