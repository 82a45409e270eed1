"""The versions a webhook may bring: a time, a date or a number, and one kind per flow.

A version orders two changes to one record (DESIGN.md, semantics 2). `versions.comparable`
brings any value to a number or text, so before this check `true` became version 1, an object
became text that orders nothing, and a flow whose events sent a time in one and a sequence
number in the next compared the number as a moment in 1970: the change was dropped as stale,
without a word. So a webhook's version must be a time or a date (ISO 8601 text) or a number,
and a flow takes one of the three: the kind of the first version it took in since syncwell
started. An event that breaks either rule is refused with a 400 that says what was wrong and
how to fix it; a record without a version (absent or null) is taken as before.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from syncwell.engine.inbound import EventRefusedError, at
from syncwell.versions import VersionKind, version_kind
from syncwell.workspace import Flow

__all__ = ["FlowVersionKinds"]

_PLURAL: Mapping[VersionKind, str] = {
    "time": "times (ISO 8601 text with a date and a time)",
    "date": "dates (ISO 8601 text, YYYY-MM-DD)",
    "number": "numbers",
}
_SHOWN = 60  # characters of a refused value in the answer; a version is short


@dataclass(frozen=True, slots=True)
class _First:
    """Where a flow's kind came from: the first version it took in, and its event."""

    kind: VersionKind
    value: object
    event_id: str


class FlowVersionKinds:
    """Per flow, the kind of its webhook versions; checks each event against it.

    Kept in memory, by the process that receives the webhooks: a restart learns the kind
    again from the next event (docs/webhooks.md, "Versions").
    """

    def __init__(self) -> None:
        self._first: dict[str, _First] = {}

    def check(
        self, flows: Sequence[Flow], records: Sequence[Mapping[str, object]], event_id: str
    ) -> dict[str, _First]:
        """The kinds this event would give flows that have none yet; nothing is kept.

        Raises:
            EventRefusedError: a version is no time, date or number, or not of its flow's kind.
        """
        learned: dict[str, _First] = {}
        for flow in flows:
            if not flow.version:
                continue
            for record in records:
                value = at(record, flow.version)
                if value is None:
                    continue  # no version: taken as before, ordered by arrival
                kind = version_kind(value)
                if kind is None:
                    raise EventRefusedError(_unusable(flow, value))
                first = self._first.get(flow.name) or learned.get(flow.name)
                if first is None:
                    learned[flow.name] = _First(kind, value, event_id)
                elif first.kind != kind:
                    raise EventRefusedError(_other_kind(flow, value, kind, first))
        return learned

    def keep(self, learned: Mapping[str, _First]) -> None:
        """Remember the kinds an event that was read in full gave its flows."""
        for flow, first in learned.items():
            self._first.setdefault(flow, first)


def _unusable(flow: Flow, value: object) -> str:
    return (
        f"the version '{flow.version}' of flow '{flow.name}' is {_shown(value)} "
        f"({_what(value)}); a version must be a time or a date as ISO 8601 text "
        '("2026-12-07T13:00:00Z", "2026-12-07") or a number, so that a newer change can be '
        f"told from an older one. Send '{flow.version}' as one of those, or set the flow's "
        "`version:` to a field that holds one; the event was not taken in"
    )


def _other_kind(flow: Flow, value: object, kind: VersionKind, first: _First) -> str:
    return (
        f"the version '{flow.version}' of flow '{flow.name}' is {_shown(value)} "
        f"({_what(value)}), but this flow's versions are {_PLURAL[first.kind]}: the first "
        f"it took in since syncwell started was {_shown(first.value)} (event "
        f"{first.event_id}), and {_why(first.kind, kind)}. Send every '{flow.version}' of this "
        f"flow as {_PLURAL[first.kind].split(' (')[0]}; if the sender's versions changed "
        "kind for good, restart syncwell once it sends only the new kind. The event was not "
        "taken in"
    )


def _why(expected: VersionKind, got: VersionKind) -> str:
    """What goes wrong when a version of kind `got` is compared with the flow's."""
    if "date" in (expected, got):
        return (
            "a date is compared as text, which no time or number can be ordered with, so an "
            "older change could be applied over a newer one"
        )
    if got == "number":
        return (
            "a number compared with a time is read as seconds since 1970, so a newer change "
            "could be dropped as stale"
        )
    return (
        "a time compared with numbers is read as seconds since 1970, so the numbers after it "
        "could all look older and be dropped as stale"
    )


def _shown(value: object) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _what(value: object) -> str:
    if isinstance(value, bool):
        return "a JSON boolean"
    kind = version_kind(value)
    if kind == "time":
        return "an ISO 8601 time"
    if kind == "date":
        return "an ISO 8601 date"
    if kind == "number":
        return "a number"
    if isinstance(value, int | float):
        return "a number no float can hold"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON list"
    return "text that is neither an ISO 8601 time or date nor a number"
