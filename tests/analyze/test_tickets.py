"""Tickets as evidence: counts per integration, and the disagreement with the measurements."""

from __future__ import annotations

from syncwell.analyze.tickets import count_tickets, disagreement
from syncwell.store import Ticket


def _tickets(**per: int) -> list[Ticket]:
    found = []
    for integration, count in per.items():
        found += [
            Ticket(f"{integration}{n}", integration, 100.0 + n, None, "") for n in range(count)
        ]
    return found


def test_the_most_ticketed_integration_measured_healthy_is_named() -> None:
    """Eight CRM tickets against two email tickets, with only email unhealthy: CRM is named,
    with its share, and the message says what may be unmeasured."""
    counts = count_tickets(_tickets(crm=8, email=2), since=0.0)
    found = disagreement(counts, unhealthy={"email"})
    assert found is not None
    assert found.integration == "crm" and found.opened == 8 and found.share == 0.8
    assert "not measured" in found.message and "verify:" in found.message


def test_no_disagreement_when_the_measurements_agree_or_tickets_are_few() -> None:
    """The constraint itself with the most tickets, a tie, or fewer than three: nothing."""
    assert disagreement(count_tickets(_tickets(crm=8, email=2), since=0.0), {"crm"}) is None
    assert disagreement(count_tickets(_tickets(crm=4, email=4), since=0.0), set()) is None
    assert disagreement(count_tickets(_tickets(crm=2), since=0.0), set()) is None


def test_tickets_before_the_window_count_only_while_open() -> None:
    """A ticket opened before the window is not counted opened, but still open if it is."""
    old = [Ticket("1", "crm", 10.0, None, ""), Ticket("2", "crm", 10.0, 20.0, "")]
    (crm,) = count_tickets([*old, Ticket("3", "crm", 200.0, 260.0, "")], since=100.0)
    assert (crm.opened, crm.still_open, crm.resolved, crm.median_resolve_s) == (1, 1, 1, 60.0)
