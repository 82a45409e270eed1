"""Ticket intake: read the helpdesk's tickets (a CSV file, or an http system's stream through
its source), attribute each to an integration by the workspace's rules, and keep them.

Each read is a whole read, saved by ticket id: importing twice changes nothing, and a ticket
closed since the last read is updated.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from syncwell.analyze.tickets import TicketCounts, ticket_counts
from syncwell.connectors import open_source
from syncwell.errors import SyncwellError
from syncwell.store import Store, Ticket, open_store
from syncwell.types import StreamSpec
from syncwell.workspace.model import Workspace
from syncwell.workspace.tickets import TicketRule, TicketSettings

__all__ = [
    "TicketImport",
    "attribute",
    "import_tickets",
    "parse_time",
    "read_every",
    "tickets_now",
    "to_ticket",
]

log = structlog.get_logger("syncwell.tickets")

_TAG_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True, slots=True)
class TicketImport:
    """What one import read: tickets kept, and records left out with why."""

    read: int
    skipped: tuple[str, ...]


def parse_time(value: object) -> float | None:
    """Unix seconds from a number or an ISO 8601 time; None for empty, and for the epoch
    itself, which helpdesks (Request Tracker) print for a time never set."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        if not text or text.startswith("Not set"):
            return None
        try:
            seconds = float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.now().astimezone().tzinfo)
            seconds = parsed.timestamp()
    return None if seconds <= 0 else seconds


def _tags(value: object) -> set[str]:
    if isinstance(value, list | tuple):
        return {str(item).strip().lower() for item in value if str(item).strip()}
    return {part.lower() for part in _TAG_SPLIT.split(str(value or "")) if part}


def _matches(rule: TicketRule, record: Mapping[str, object], settings: TicketSettings) -> bool:
    fields = settings.fields
    wanted = {tag.lower() for tag in rule.tags}
    if fields.tags is not None and wanted & _tags(record.get(fields.tags)):
        return True
    if rule.match is not None:
        text = " ".join(str(record.get(name) or "") for name in fields.text)
        if re.search(rule.match, text, re.IGNORECASE):
            return True
    return any(
        re.search(pattern, text, re.IGNORECASE)
        for name, pattern in rule.fields.items()
        for text in _values(record.get(name))
    )


def _values(value: object) -> list[str]:
    """The texts a field matcher tries: the value, or each value of an object or list (RT
    gives `Queue` as an object with its `Name` when asked for `fields[Queue]=Name`)."""
    if isinstance(value, Mapping):
        return [str(item) for item in value.values() if item is not None]
    if isinstance(value, list | tuple):
        return [str(item) for item in value if item is not None]
    return [] if value is None else [str(value)]


def attribute(record: Mapping[str, object], settings: TicketSettings) -> str | None:
    """The first integration, in the file's order, whose rule matches `record`; else None."""
    for integration, rule in settings.integrations.items():
        if _matches(rule, record, settings):
            return integration
    return None


def to_ticket(record: Mapping[str, object], settings: TicketSettings) -> Ticket:
    """`record` as a kept ticket. Raises ValueError naming the field that is missing or bad."""
    fields = settings.fields
    ticket_id = record.get(fields.id)
    if ticket_id is None or str(ticket_id).strip() == "":
        raise ValueError(f"no `{fields.id}` (fields.id)")
    try:
        opened = parse_time(record.get(fields.opened))
        closed = parse_time(record.get(fields.closed))
    except ValueError as error:
        raise ValueError(f"ticket {ticket_id}: a time that is not ISO 8601 ({error})") from None
    if opened is None:
        raise ValueError(f"ticket {ticket_id}: no `{fields.opened}` (fields.opened)")
    subject = str(record.get(fields.text[0]) or "") if fields.text else ""
    return Ticket(str(ticket_id), attribute(record, settings), opened, closed, subject)


def _from_csv(workspace: Workspace, settings: TicketSettings) -> list[dict[str, object]]:
    assert settings.csv is not None
    path = settings.csv if settings.csv.is_absolute() else workspace.root / settings.csv
    with path.open(newline="", encoding="utf-8-sig") as file:
        return [dict(row) for row in csv.DictReader(file)]


async def _from_system(workspace: Workspace, settings: TicketSettings) -> list[dict[str, object]]:
    assert settings.system is not None and settings.stream is not None
    system = workspace.systems[settings.system]
    source = await open_source(settings.system, system.settings)
    spec = StreamSpec(name=settings.stream, key=(settings.fields.id,))
    records: list[dict[str, object]] = []
    try:
        async for batch, _checkpoint in source.read(spec, None):
            records += [dict(zip(batch.columns, row, strict=True)) for row in batch.rows]
    finally:
        await source.aclose()
    return records


def _convert(
    records: Iterable[Mapping[str, object]], settings: TicketSettings
) -> tuple[list[Ticket], list[str]]:
    found: dict[str, Ticket] = {}
    skipped: list[str] = []
    for record in records:
        try:
            ticket = to_ticket(record, settings)
        except ValueError as error:
            skipped.append(str(error))
            continue
        found[ticket.id] = ticket
    return list(found.values()), skipped


async def import_tickets(workspace: Workspace, store: Store) -> TicketImport:
    """Read the workspace's tickets and keep them; nothing when it declares no `tickets:`."""
    settings = workspace.tickets
    if settings is None:
        return TicketImport(0, ())
    if settings.csv is not None:
        records: Sequence[Mapping[str, object]] = _from_csv(workspace, settings)
    else:
        records = await _from_system(workspace, settings)
    found, skipped = _convert(records, settings)
    await store.tickets.save(found, now=time.time())
    return TicketImport(len(found), tuple(skipped))


async def tickets_now(
    workspace: Workspace, *, window_s: float, read: bool = True
) -> tuple[TicketImport, list[TicketCounts]]:
    """Import the tickets (unless `read` is false), then count them per integration over the
    last `window_s` seconds: what `syncwell tickets` prints."""
    store = await open_store(workspace.state)
    try:
        done = await import_tickets(workspace, store) if read else TicketImport(0, ())
        return done, await ticket_counts(store, since=time.time() - window_s)
    finally:
        await store.close()


async def read_every(workspace: Workspace, store: Store, halt: asyncio.Event) -> None:
    """Import the tickets now and every `tickets.every` until `halt` is set (what `syncwell
    run` does beside the flows). A failed read is logged and tried again next time: tickets
    are evidence, never a reason to stop syncing."""
    settings = workspace.tickets
    if settings is None:
        return
    while not halt.is_set():
        try:
            done = await import_tickets(workspace, store)
        except (OSError, ValueError, SyncwellError) as error:
            log.warning("tickets not read", error=str(error))
        else:
            log.info("tickets read", read=done.read, skipped=len(done.skipped))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(halt.wait(), settings.every.total_seconds())
