"""Support tickets on a real run against the sandbox: the run imports them beside the flows,
and when the tool with the most tickets is measured healthy the analysis says that tickets and
measurements disagree, naming it, without making it the constraint."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

from syncwell import load_workspace
from syncwell.sandbox import FaultSettings
from tests.scenarios.constraintkit import analysis_of, drained, running, signing_up
from tests.scenarios.plantedkit import Step, make_core, sandboxed, working, write_workspace

TICKETS = """
tickets:
  csv: tickets.csv
  integrations:
    email: {match: "newsletter|email"}
    crm: {match: "crm|lead"}
"""


def _iso(minutes_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - minutes_ago * 60, UTC).isoformat()


async def test_many_tickets_on_a_healthy_tool_are_a_disagreement(tmp_path: Path) -> None:
    """Every tool healthy and in SLO, but eight newsletter tickets and one about a lead: the
    run imports them, nothing is the constraint, and the report names the email platform as
    the tool with the most tickets (89%) whose measurements look healthy."""
    make_core(tmp_path, 50)
    rows = [f"n{n},{_iso(1 + n / 2)},,newsletter went to the wrong people" for n in range(8)]
    rows.append(f"l1,{_iso(3)},{_iso(1)},lead owner lost")
    (tmp_path / "tickets.csv").write_text("id,opened,closed,subject\n" + "\n".join(rows) + "\n")
    async with sandboxed(project=FaultSettings(rate_limit_per_s=5)) as tools:
        steps = [Step("to_crm", interval="0.2s"), Step("to_email", interval="0.2s")]
        written = write_workspace(tmp_path, tools, steps)
        written.path.write_text(written.path.read_text() + TICKETS)
        workspace = load_workspace(written.path)
        async with running(workspace) as run:
            async with signing_up(tmp_path, per_s=5), working(tools):
                await asyncio.sleep(3)
            await drained(run.engine)
    analysis = await analysis_of(workspace)
    assert analysis.constraint is None, analysis.summary
    assert analysis.tickets is not None
    assert analysis.tickets.disagreement is not None
    assert analysis.tickets.disagreement.integration == "email"
    assert analysis.tickets.disagreement.opened == 8
    assert round(analysis.tickets.disagreement.share, 2) == 0.89
    email = analysis.tickets.of("email")
    assert email is not None and email.still_open == 8
