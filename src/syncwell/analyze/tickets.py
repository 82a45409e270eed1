"""Support tickets as evidence: per integration over the window, tickets opened, still open,
and the median time to resolve; and where the tickets and the measurements disagree.

Tickets never name the constraint on their own: an integration the measurements call healthy
but that gets the most tickets is a sign that something about it is not measured, and the
analysis says so (a `TicketDisagreement`) instead of moving the constraint.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from syncwell.store import Store, Ticket

__all__ = [
    "UNATTRIBUTED",
    "TicketCounts",
    "TicketDisagreement",
    "TicketEvidence",
    "count_tickets",
    "disagreement",
    "ticket_counts",
    "ticket_dict",
    "ticket_evidence",
    "ticket_lines",
]

UNATTRIBUTED = "(unattributed)"
"""The row of tickets no rule named."""

_MIN_TICKETS = 3
"""Fewer tickets than this say nothing about an integration; no disagreement is named."""


@dataclass(frozen=True, slots=True)
class TicketCounts:
    """One integration's tickets over the window."""

    integration: str
    opened: int
    """Tickets opened in the window."""
    still_open: int
    """Of all its tickets (whenever opened), those not resolved yet."""
    resolved: int
    """Tickets opened in the window and resolved since."""
    median_resolve_s: float | None
    """The median time from opened to resolved of `resolved`; None when none is."""


@dataclass(frozen=True, slots=True)
class TicketDisagreement:
    """The integration with the most tickets is measured healthy: something is not measured."""

    integration: str
    opened: int
    share: float
    """Its share of the attributed tickets opened in the window, 0..1."""
    message: str


@dataclass(frozen=True, slots=True)
class TicketEvidence:
    """The tickets beside an analysis: counts per integration over its window, most first,
    and the disagreement with the measurements, if there is one. Never part of the ranking."""

    counts: tuple[TicketCounts, ...]
    disagreement: TicketDisagreement | None

    def of(self, integration: str) -> TicketCounts | None:
        """`integration`'s counts, or None when it has no tickets."""
        return next((c for c in self.counts if c.integration == integration), None)


def count_tickets(found: Iterable[Ticket], *, since: float) -> list[TicketCounts]:
    """Counts per integration (unattributed last), most tickets opened first."""
    groups: dict[str, list[Ticket]] = {}
    for ticket in found:
        groups.setdefault(ticket.integration or UNATTRIBUTED, []).append(ticket)
    counts = []
    for integration, tickets in groups.items():
        recent = [t for t in tickets if t.opened_at >= since]
        times = [t.closed_at - t.opened_at for t in recent if t.closed_at is not None]
        counts.append(
            TicketCounts(
                integration,
                opened=len(recent),
                still_open=sum(1 for t in tickets if t.closed_at is None),
                resolved=len(times),
                median_resolve_s=statistics.median(times) if times else None,
            )
        )
    counts.sort(key=lambda c: (c.integration == UNATTRIBUTED, -c.opened, c.integration))
    return counts


async def ticket_counts(store: Store, *, since: float) -> list[TicketCounts]:
    """The kept tickets, counted per integration since `since`."""
    return count_tickets(await store.tickets.since(since), since=since)


async def ticket_evidence(
    store: Store, *, since: float, unhealthy: Collection[str]
) -> TicketEvidence:
    """The kept tickets since `since` as evidence, against the integrations the measurements
    find `unhealthy` (the constraint and every integration with a reason)."""
    counts = await ticket_counts(store, since=since)
    return TicketEvidence(tuple(counts), disagreement(counts, unhealthy))


def disagreement(
    counts: Sequence[TicketCounts], unhealthy: Collection[str]
) -> TicketDisagreement | None:
    """When the integration with the most tickets in the window is not among `unhealthy` (the
    constraint and the integrations the measurements find at fault), name it."""
    attributed = [c for c in counts if c.integration != UNATTRIBUTED and c.opened]
    if not attributed:
        return None
    top = attributed[0]
    total = sum(c.opened for c in attributed)
    if top.opened < _MIN_TICKETS or top.integration in unhealthy:
        return None
    if len(attributed) > 1 and attributed[1].opened == top.opened:
        return None  # a tie names no one integration
    share = top.opened / total
    message = (
        f"{top.integration} has the most support tickets ({top.opened}, {share:.0%} of those "
        f"attributed) but its measurements look healthy: something the customers feel is not "
        f"measured. Look for what syncwell cannot see: data that arrives wrong but passes "
        f"(turn on `verify:` read-backs), fields or records no flow carries, manual steps "
        f"around {top.integration} not declared as `mode: manual`, or a flow with no SLO."
    )
    return TicketDisagreement(top.integration, top.opened, share, message)


def ticket_dict(counts: TicketCounts) -> dict[str, object]:
    """`counts` as JSON-ready values."""
    return {
        "integration": counts.integration,
        "opened": counts.opened,
        "still_open": counts.still_open,
        "resolved": counts.resolved,
        "median_resolve_s": counts.median_resolve_s,
    }


def _resolve(counts: TicketCounts) -> str:
    if counts.median_resolve_s is None:
        return "none resolved"
    hours = counts.median_resolve_s / 3600
    spoken = f"{hours:.1f}h" if hours < 48 else f"{hours / 24:.1f}d"
    return f"median {spoken} to resolve"


def ticket_lines(evidence: TicketEvidence) -> list[str]:
    """The tickets for a terminal: one line per integration, then the disagreement."""
    lines = ["support tickets (evidence beside the measurements, not part of the ranking):"]
    if not evidence.counts:
        lines.append("  none in the window")
    for row in evidence.counts:
        lines.append(
            f"  {row.integration}: {row.opened} opened, {row.still_open} still open, "
            f"{_resolve(row)}"
        )
    if evidence.disagreement is not None:
        lines.append(f"  tickets and measurements disagree: {evidence.disagreement.message}")
    return lines
