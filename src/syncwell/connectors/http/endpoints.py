"""What an http system's streams read and write: endpoints, pagination, incremental filters.

These models sit under ``streams:`` in a ``kind: http`` system (see `settings.Settings`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from syncwell.connectors.http.ids import AssignedIds, FindEndpoint
from syncwell.connectors.http.incremental import FilterCheck, Incremental

__all__ = [
    "AssignedIds",
    "CursorPages",
    "FilterCheck",
    "FindEndpoint",
    "GoneWhen",
    "Incremental",
    "ItemErrors",
    "LinkHeaderPages",
    "NextUrlPages",
    "OffsetPages",
    "PageNumberPages",
    "Pagination",
    "ReadEndpoint",
    "Stream",
    "VerifyEndpoint",
    "WriteConfig",
    "WriteEndpoint",
    "placeholders",
    "tagged",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")

Scalar = str | int | float | bool


def tagged(value: object, tag: str, choices: tuple[str, ...], what: str) -> object:
    """`value`, checked to name one of `choices` by `tag` (so the error says which to write).

    Pydantic's own words for a wrong tag are written for programmers; this says the fix.
    """
    if isinstance(value, dict) and value.get(tag) not in choices:
        options = ", ".join(choices)
        given = value.get(tag)
        said = f"'{given}' is not one" if given is not None else f"`{tag}:` is missing; write one"
        raise ValueError(f"{what} {tag}: {said} of {options}")
    return value


def placeholders(path: str) -> list[str]:
    """The record fields a path names, ``/contacts/{id}`` -> ``["id"]``."""
    return _PLACEHOLDER.findall(path)


class CursorPages(BaseModel):
    """The body names the next page's cursor; it goes back in a query parameter."""

    model_config = _FROZEN

    style: Literal["cursor"] = Field(description="cursor")
    cursor_path: str = Field(
        min_length=1, description="Dotted path to the next cursor, e.g. paging.next.after."
    )
    param: str = Field(min_length=1, description="Query parameter the cursor is sent in.")


class NextUrlPages(BaseModel):
    """The body holds the next page's URL (absolute, or a path under base_url)."""

    model_config = _FROZEN

    style: Literal["next_url"] = Field(description="next_url")
    next_url_path: str = Field(min_length=1, description="Dotted path to the next URL.")


class LinkHeaderPages(BaseModel):
    """The ``Link`` header's ``rel="next"`` URL (RFC 8288), as GitHub and many others do."""

    model_config = _FROZEN

    style: Literal["link_header"] = Field(description="link_header")


class OffsetPages(BaseModel):
    """``?offset=<n>&limit=<page_size>``; the read ends at a short page (or at `total`)."""

    model_config = _FROZEN

    style: Literal["offset"] = Field(description="offset")
    offset_param: str = Field(
        default="offset", description="Query parameter of the offset. Default offset."
    )
    limit_param: str = Field(
        default="limit", description="Query parameter of the page size. Default limit."
    )
    page_size: int = Field(
        default=100,
        ge=1,
        description="Records asked for per page; at most the API's maximum. Default 100.",
    )


class PageNumberPages(BaseModel):
    """``?page=<n>&per_page=<page_size>``; the read ends at a short page (or at `total`)."""

    model_config = _FROZEN

    style: Literal["page"] = Field(description="page")
    page_param: str = Field(
        default="page", description="Query parameter of the page number. Default page."
    )
    size_param: str | None = Field(
        default="per_page",
        description="Parameter for the page size; null when the API's size is fixed. "
        "Default per_page.",
    )
    page_size: int = Field(
        default=100,
        ge=1,
        description="Records per page (the API's fixed size when size_param is null). Default 100.",
    )
    first_page: int = Field(default=1, ge=0, description="Number of the first page. Default 1.")


Pagination = Annotated[
    CursorPages | NextUrlPages | LinkHeaderPages | OffsetPages | PageNumberPages,
    Field(discriminator="style"),
]


class ReadEndpoint(BaseModel):
    """Where a stream's records are read, page by page."""

    model_config = _FROZEN

    path: str = Field(min_length=1, description="Path under base_url, e.g. /v1/contacts.")
    method: Literal["GET", "POST"] = Field(default="GET", description="GET or POST. Default GET.")
    params: Mapping[str, Scalar] = Field(
        default_factory=dict,
        description="Query parameters, e.g. {limit: 100}; next_url and link_header pages "
        "carry their own. Default none.",
    )
    body: JsonValue = Field(
        default=None, description="JSON body of a POST read, sent with every page. Default none."
    )
    records: str = Field(
        default="",
        description="Dotted path to the list of records in the body, e.g. data.items; empty "
        "when the body is the list. Default: the body.",
    )
    total: str | None = Field(
        default=None,
        description="Dotted path to the total record count, for progress. Default: none.",
    )
    pagination: Pagination | None = Field(
        default=None,
        description="cursor, next_url, link_header, offset or page (by `style:`). "
        "Default: one page.",
    )
    conditional: bool = Field(
        default=True,
        description="For a stream read without a cursor: send each page's last ETag in "
        "If-None-Match, so a page that has not changed costs a 304. Default true.",
    )
    incremental: Incremental | None = Field(
        default=None,
        description="Filter by the flow's cursor. Default: read everything and keep the "
        "newer records.",
    )

    @field_validator("pagination", mode="before")
    @classmethod
    def _known_style(cls, value: object) -> object:
        styles = ("cursor", "next_url", "link_header", "offset", "page")
        return tagged(value, "style", styles, "pagination")

    @model_validator(mode="after")
    def _body_needs_post(self) -> ReadEndpoint:
        filter_ = self.incremental
        if filter_ is not None and filter_.body is not None and self.method != "POST":
            raise ValueError(
                "incremental body: is sent with a POST read; set read method: POST, or "
                "put the filter in incremental params: instead"
            )
        return self


class WriteEndpoint(BaseModel):
    """One request per record, or per chunk of records when its body names ``{{records}}``."""

    model_config = _FROZEN

    method: Literal["POST", "PUT", "PATCH", "DELETE"] | None = Field(
        default=None,
        description="Default by role: create POST, update PATCH, upsert PUT, delete DELETE.",
    )
    path: str = Field(
        min_length=1,
        description="Path under base_url; {field} is filled from the record, URL-escaped.",
    )
    body: JsonValue = Field(
        default=None,
        description="Body template; placeholders {{record}}, {{records}}, {{key}}, {{keys}}, "
        "{{version}}, {{record.<path>}}. Default: the record (no body for DELETE).",
    )
    item: JsonValue = Field(
        default="{{record}}",
        description="Template of each element of {{records}}. Default: the record.",
    )
    max_batch: int = Field(
        default=100, ge=1, description="Records per request of a bulk endpoint. Default 100."
    )

    @property
    def bulk(self) -> bool:
        """Whether one request carries many records."""
        return _names_many(self.body)

    @model_validator(mode="after")
    def _bulk_paths_name_no_record(self) -> WriteEndpoint:
        if _names_many(self.item):
            raise ValueError("`item:` is one record; it cannot hold {{records}} or {{keys}}")
        if self.bulk and placeholders(self.path):
            raise ValueError(
                "a bulk endpoint (body with {{records}} or {{keys}}) cannot take "
                f"{{field}} from a record in its path: {self.path}"
            )
        return self


def _names_many(template: JsonValue) -> bool:
    if isinstance(template, str):
        return template in ("{{records}}", "{{keys}}")
    if isinstance(template, list):
        return any(_names_many(part) for part in template)
    if isinstance(template, dict):
        return any(_names_many(part) for part in template.values())
    return False


class VerifyEndpoint(BaseModel):
    """Where a written record is read back, when not at its update path."""

    model_config = _FROZEN

    path: str = Field(
        min_length=1,
        description="GET path of one record under base_url; {field} is filled from the record, "
        "or with the tool's id where it assigns them (write.ids).",
    )
    record: str = Field(
        default="",
        description="Dotted path to the record in the answer, e.g. data; empty when the answer "
        "is the record. It is read in the shape of the bulk write's `item:` (else whole). "
        "Default: the answer.",
    )


class GoneWhen(BaseModel):
    """How a tool that keeps a deleted record at its URL marks it deleted."""

    model_config = _FROZEN

    field: str = Field(
        min_length=1,
        description="Dotted path, in the answer of a GET of one record, of the field that "
        "marks it deleted, e.g. Status.",
    )
    values: tuple[str | int | bool, ...] = Field(
        min_length=1,
        description="The values of that field that mean deleted, e.g. [deleted].",
    )


class ItemErrors(BaseModel):
    """Where a bulk answer lists the records it refused, each by index or by key."""

    model_config = _FROZEN

    path: str = Field(min_length=1, description="Dotted path to the list of errors.")
    index: str | None = Field(
        default="index",
        description="Field of an error that holds the record's position in the request. "
        "Default index.",
    )
    index_base: Literal[0, 1] = Field(
        default=0, description="The number of the first position: 0 or 1. Default 0."
    )
    key: str | None = Field(
        default=None,
        description="Field of an error that holds the record's key value instead, e.g. email. "
        "Default: none.",
    )
    message: str | None = Field(
        default="message",
        description="Field of an error that says why. Default message.",
    )


class WriteConfig(BaseModel):
    """How a stream's changes are written: upserts, or create then update, and deletes."""

    model_config = _FROZEN

    ids: AssignedIds | None = Field(
        default=None,
        description="The tool assigns each record's id on create: syncwell keeps it in its "
        "identity map and fills `{<field>}` in update and delete paths. Default: none.",
    )
    find: FindEndpoint | None = Field(
        default=None,
        description="Look a record without a known id up by natural key before creating it "
        "(after a crash, or for data that exists on both sides). Needs `ids:`. Default none.",
    )
    idempotency_header: str | None = Field(
        default=None,
        description="Header that carries a create's idempotency key (e.g. Idempotency-Key), "
        "the same on every retry of one create, where the tool honours one. Default none.",
    )

    upsert: WriteEndpoint | None = Field(
        default=None, description="Creates or updates by key. Preferred when the API has one."
    )
    create: WriteEndpoint | None = Field(
        default=None, description="Creates; a 409 then falls back to `update`. Default none."
    )
    update: WriteEndpoint | None = Field(
        default=None, description="Updates by key; alone, it is used as the upsert."
    )
    delete: WriteEndpoint | None = Field(
        default=None,
        description="Deletes by key; a 404 counts as done. Default: deletes are dead-lettered.",
    )
    errors: ItemErrors | None = Field(
        default=None, description="Per-record errors in bulk answers. Default: none."
    )
    verify: VerifyEndpoint | None = Field(
        default=None,
        description="Where a written record is read back to verify it (the flow's `verify:`). "
        "Default: the update path (else the upsert's, else the delete's), read where its "
        "body puts the record.",
    )

    gone: GoneWhen | None = Field(
        default=None,
        description="A tool that keeps a deleted record at its URL (answering 200, not 404) "
        "and marks it by a field: such a record counts as missing when read back, and a "
        "delete that fails of it is done. Default: only a 404 or 410 means gone.",
    )

    @model_validator(mode="after")
    def _writes_something(self) -> WriteConfig:
        if not (self.upsert or self.create or self.update or self.delete):
            raise ValueError("write: needs at least one of upsert, create, update or delete")
        if self.find is not None and self.ids is None:
            raise ValueError(
                "write.find: finds a record's id, so it needs write.ids: {field: <the id's "
                "name>} too"
            )
        if self.ids is not None:
            if self.create is None:
                raise ValueError(
                    "write.ids: means the tool assigns ids on create; add write.create"
                )
            if self.upsert is not None:
                raise ValueError(
                    "write.ids: and write.upsert: exclude each other: an upsert is keyed by "
                    "your own key, ids the tool assigns need create and update"
                )
            if self.create.bulk:
                raise ValueError(
                    "write.ids: needs a create of one record per request, so each answer "
                    "names one new id; remove {{records}} from write.create.body"
                )
        return self

    @property
    def names_ids(self) -> frozenset[str]:
        """The path placeholders filled from the identity map, not from the record."""
        return frozenset() if self.ids is None else frozenset({self.ids.field})


class Stream(BaseModel):
    """One stream of the API: where it is read and/or written."""

    model_config = _FROZEN

    read: ReadEndpoint | None = Field(
        default=None, description="Reading (when a flow's source). Default: none."
    )
    write: WriteConfig | None = Field(
        default=None, description="Writing (when a flow's destination). Default: none."
    )

    @model_validator(mode="after")
    def _some_way(self) -> Stream:
        if self.read is None and self.write is None:
            raise ValueError("a stream needs `read:`, `write:` or both")
        return self
