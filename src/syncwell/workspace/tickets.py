"""`tickets:` in syncwell.yaml: where the support tickets come from and which integration each
is about.

A helpdesk is read like any other system: a CSV export, or a stream of an http system read by
the http connector's source. Each ticket is attributed to the first integration (in the file's
order) whose rule matches it: by tag, by a regular expression over its text, or by a field's
value. A ticket no rule matches is kept, unattributed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncwell.workspace.durations import PositiveDuration
from syncwell.workspace.problems import Problem

__all__ = ["TicketFields", "TicketRule", "TicketSettings", "ticket_problems"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as error:
        message = f"not a regular expression ({error}); escape special characters with \\"
        raise ValueError(message) from None
    return pattern


class TicketRule(BaseModel):
    """One integration's rule: a ticket matches when any of its parts does."""

    model_config = _FROZEN

    tags: tuple[str, ...] = Field(
        default=(), description="Tags any of which names the integration (case-insensitive)."
    )
    match: str | None = Field(
        default=None,
        description="A regular expression searched in the ticket's text fields, ignoring case.",
    )
    fields: Mapping[str, str] = Field(
        default_factory=dict,
        description="Field name -> regular expression its value must match (ignoring case).",
    )

    @field_validator("match")
    @classmethod
    def _match_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _compiles(value)

    @field_validator("fields")
    @classmethod
    def _fields_compile(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        for pattern in value.values():
            _compiles(pattern)
        return value

    @model_validator(mode="after")
    def _says_something(self) -> TicketRule:
        if not self.tags and self.match is None and not self.fields:
            raise ValueError(
                "a rule needs `tags: [...]`, `match: <regex>` or `fields: {f: <regex>}`"
            )
        return self


class TicketFields(BaseModel):
    """Which of a ticket's fields (CSV columns, or keys of the stream's records) mean what."""

    model_config = _FROZEN

    id: str = Field(default="id", description="The ticket's id. Default `id`.")
    opened: str = Field(default="opened", description="When it was opened. Default `opened`.")
    closed: str = Field(
        default="closed", description="When it was resolved; empty while open. Default `closed`."
    )
    tags: str | None = Field(
        default="tags",
        description="Its tags: a list, or text split on commas, semicolons or spaces. "
        "Default `tags`; a ticket without the field has none.",
    )
    text: tuple[str, ...] = Field(
        default=("subject",),
        description="The fields `match:` searches. Default `[subject]`.",
    )


class TicketSettings(BaseModel):
    """`tickets:`: one helpdesk's tickets, read as evidence for the constraint."""

    model_config = _FROZEN

    csv: Path | None = Field(
        default=None, description="A CSV file of tickets, relative to the workspace folder."
    )
    system: str | None = Field(
        default=None, description="An http system whose `stream:` lists the tickets."
    )
    stream: str | None = Field(default=None, description="The system's stream of tickets.")
    every: PositiveDuration = Field(
        default=timedelta(minutes=15),
        description="How often `syncwell run` reads the tickets again. Default 15m.",
    )
    fields: TicketFields = Field(default_factory=TicketFields, description="The fields' names.")
    integrations: Mapping[str, TicketRule] = Field(
        description="Integration (an external system with flows) -> the rule naming its tickets."
    )

    @model_validator(mode="after")
    def _one_source(self) -> TicketSettings:
        if (self.csv is None) == (self.system is None):
            raise ValueError(
                "say where tickets come from: `csv: tickets.csv`, "
                "or `system: <http system>` with `stream: <stream>` (one of the two)"
            )
        if self.system is not None and self.stream is None:
            raise ValueError(f"`system: {self.system}` needs `stream:`, the stream of tickets")
        if self.csv is not None and self.stream is not None:
            raise ValueError("`stream:` goes with `system:`; a CSV file has no streams")
        return self


def ticket_problems(
    settings: TicketSettings, integrations: Mapping[str, object], systems: Mapping[str, str]
) -> list[Problem]:
    """What `tickets:` names that the workspace has not: unknown integrations, and a system
    that is not an http system. `systems` maps each system's name to its kind."""
    problems: list[Problem] = []
    known = ", ".join(sorted(integrations)) or "none (no flow reaches an external system)"
    for name in settings.integrations:
        if name not in integrations:
            message = f"`{name}` is not an integration; name one of: {known}"
            problems.append(Problem(("tickets", "integrations", name), message))
    if settings.system is not None:
        kind = systems.get(settings.system)
        if kind is None:
            message = f"no system `{settings.system}`; declare it under `systems:` (kind: http)"
            problems.append(Problem(("tickets", "system"), message))
        elif kind != "http":
            message = f"`{settings.system}` is a {kind} system; tickets are read from an http one"
            problems.append(Problem(("tickets", "system"), message))
    return problems
