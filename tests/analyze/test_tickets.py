"""Tickets as evidence: counts per integration, and the disagreement with the measurements."""

from __future__ import annotations

from pathlib import Path

from syncwell.analyze import Analysis, analysis_text, analyze, kept_report
from syncwell.analyze.tickets import count_tickets, disagreement
from syncwell.measure import MinuteRecorder
from syncwell.store import Ticket, open_store
from syncwell.workspace.tickets import TicketRule, TicketSettings
from tests.analyze.kit import tools_workspace

FLOWS = {
    "contacts": "crm -> core, interval: 30s, slo: {freshness: 5m}",
    "tasks": "core -> project, interval: 30s, slo: {freshness: 5m}",
}
NOW = 1_800_000_000.0


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


async def _measured(state: str, tickets: dict[str, int]) -> Analysis:
    """Ten minutes of both flows with the CRM's breaker open half the time, and `tickets`
    opened in the hour: the analysis with the tickets beside it."""
    settings = TicketSettings(
        csv=Path("tickets.csv"),
        integrations={"crm": TicketRule(tags=("crm",)), "project": TicketRule(tags=("p",))},
    )
    workspace = tools_workspace(FLOWS).model_copy(update={"state": state, "tickets": settings})
    store = await open_store(state)
    try:
        clock = [NOW - 600]
        recorder = MinuteRecorder(lambda: clock[0])
        for minute in range(10):
            clock[0] = NOW - 600 + minute * 60
            for flow in ("contacts", "tasks"):
                recorder.took_in(flow, 10)
                recorder.delivered(
                    flow, written=10, attempts=1, retries_transient=0, retries_rate_limited=0,
                    dead_lettered=0, write_s=0.05, lag_s=1.0,
                )  # fmt: skip
            clock[0] += 59.999
            recorder.sampled("contacts", backlog=0, breaker_open_s=30.0, headroom=None)
            recorder.sampled("tasks", backlog=0, breaker_open_s=0.0, headroom=None)
            await store.measurements.add([m.as_row() for m in recorder.drain()])
        found = [
            Ticket(f"{name}{n}", name, NOW - 1800 + n, NOW - 1000 if n % 2 else None, "")
            for name, count in tickets.items()
            for n in range(count)
        ]
        await store.tickets.save(found, now=NOW)
        return await analyze(store, workspace=workspace, window_s=3600, at=NOW)
    finally:
        await store.close()


async def test_tickets_on_a_healthy_integration_are_a_disagreement_not_a_constraint(
    tmp_path: Path,
) -> None:
    """The CRM is down half the time, but the project tool has the most tickets: the CRM stays
    the constraint, and the report names the project tool as measured healthy with tickets."""
    analysis = await _measured(f"sqlite:///{tmp_path / 's.db'}", {"project": 6, "crm": 1})
    assert analysis.constraint is not None and analysis.constraint.integration == "crm"
    assert analysis.tickets is not None and analysis.tickets.disagreement is not None
    assert analysis.tickets.disagreement.integration == "project"
    text = "\n".join(analysis_text(analysis))
    assert "tickets and measurements disagree: project has the most support tickets (6" in text
    assert "  tickets: 1 opened in the window, 1 open" in text
    assert '"disagreement":{"integration":"project"' in kept_report(analysis)


async def test_tickets_that_agree_with_the_constraint_say_nothing_more(tmp_path: Path) -> None:
    """Most tickets on the constraint itself: counts and times shown, no disagreement."""
    analysis = await _measured(f"sqlite:///{tmp_path / 's.db'}", {"crm": 6, "project": 1})
    assert analysis.tickets is not None and analysis.tickets.disagreement is None
    crm = analysis.tickets.of("crm")
    assert crm is not None and (crm.opened, crm.still_open, crm.resolved) == (6, 3, 3)
    assert "disagree" not in "\n".join(analysis_text(analysis))
