"""The planted-truth scenarios of issue 13, each a real engine run against the sandbox with one
cause planted and its answer known in advance (tests/scenarios/planted.py). Each asserts three
things: the constraint named (or none), the reason, and no false alarm on an integration that
is healthy. Those the analysis gets wrong today are marked xfail with the mechanism behind
the miss, and only for a wrong answer (an AssertionError), never for a run that broke; the
fix of that mechanism turns them into passes (xfail is strict).

The grader itself is tested first, on analyses built by hand, so that a scenario cannot pass
or fail for the grader's sake. `python -m tests.scenarios.score` scores the whole set.
"""

from __future__ import annotations

from pathlib import Path

from syncwell.analyze import Analysis, Forecast, IntegrationVerdict, Reason
from tests.scenarios.constraintkit import verdicts
from tests.scenarios.planted import HELD_OUT, SCENARIOS
from tests.scenarios.plantedgrade import Expected, grade
from tests.scenarios.score import Scored, table

_BY_NAME = {planted.name: planted for planted in (*SCENARIOS, *HELD_OUT)}


async def _answers_rightly(name: str, root: Path) -> None:
    planted = _BY_NAME[name]
    analysis = await planted.run(root)
    found = grade(planted.expected, analysis)
    detail = (
        f"expected {planted.expected.text()}; answered {found.answer}: {found.evidence}\n"
        f"{verdicts(analysis)}"
    )
    assert found.constraint_right, detail
    assert found.reason_right, detail
    assert not found.false_alarms, detail


async def test_healthy_but_noisy_tools_have_no_constraint(tmp_path: Path) -> None:
    """429s, 5xx answers and duplicate webhooks that retries absorb, every change within its
    SLO: no constraint, and no integration named as breaking its SLO."""
    await _answers_rightly("healthy_noisy", tmp_path)


async def test_a_source_down_a_fifth_of_the_time_is_the_constraint_for_its_outages(
    tmp_path: Path,
) -> None:
    """The CRM, read by one flow, is down 20% of the time: the CRM is named, for outages."""
    await _answers_rightly("source_down", tmp_path)


async def test_silently_dropped_webhooks_make_their_integration_the_constraint(
    tmp_path: Path,
) -> None:
    """The CRM stops sending webhooks and changes wait for reconciliation past their SLO: the
    CRM is named, for freshness (or missed webhooks)."""
    await _answers_rightly("webhooks_dropped", tmp_path)


async def test_a_core_slow_to_write_is_the_constraint(tmp_path: Path) -> None:
    """Every batch written into the core takes 2 s against 3-second SLOs: the core is named,
    for its capacity (slow writes), and the tools writing into it are not."""
    await _answers_rightly("slow_core", tmp_path)


async def test_a_manual_step_done_once_a_day_is_the_constraint(tmp_path: Path) -> None:
    """A person does a step once a day against a 1-hour SLO: that step's integration is
    named, for being manual (automate it)."""
    await _answers_rightly("manual_step", tmp_path)


async def test_compounding_growth_is_forecast_to_saturate_in_about_37_days(
    tmp_path: Path,
) -> None:
    """Four weeks of 15%-a-week compounding growth at 48% of capacity: no constraint now, and
    the CRM saturates first, in 31-43 days."""
    await _answers_rightly("compounding_growth", tmp_path)


async def test_a_tool_answering_429_to_half_its_requests_is_the_constraint_for_its_rate_limit(
    tmp_path: Path,
) -> None:
    """The CRM sheds half its requests with 429s and changes arrive late: the CRM is named,
    for its rate limit."""
    await _answers_rightly("rate_limited_tool", tmp_path)


async def test_a_source_key_that_allows_null_is_named_as_a_configuration_mistake(
    tmp_path: Path,
) -> None:
    """The core's contacts table lets its key be NULL, so to_email cannot read it: the email
    integration is named, for a configuration mistake."""
    await _answers_rightly("configuration_mistake", tmp_path)


async def test_held_out_a_destination_down_a_quarter_of_the_time_is_an_outage(
    tmp_path: Path,
) -> None:
    """Held out: the email platform, a destination whose writes are retried, is down 25% of
    the time: email is named, for outages, and nothing else."""
    await _answers_rightly("destination_down", tmp_path)


async def test_held_out_a_source_answering_429_to_half_its_reads_is_a_rate_limit(
    tmp_path: Path,
) -> None:
    """Held out: the CRM, read by leads, sheds half its requests with 429s and leads arrive
    late: the CRM is named, for its rate limit."""
    await _answers_rightly("rate_limited_source", tmp_path)


async def test_held_out_slow_but_healthy_tools_have_no_constraint(tmp_path: Path) -> None:
    """Held out: every tool answers in 200-400 ms, one with 5% 5xx, every change within its
    SLO: no constraint and no alarm."""
    await _answers_rightly("healthy_slow", tmp_path)


def _verdict(
    integration: str, reason: Reason | None, days: float | None = None
) -> IntegrationVerdict:
    return IntegrationVerdict(
        integration=integration,
        severity=2.0 if reason else 0.5,
        reason=reason,
        flow="f",
        evidence="evidence",
        advice=(),
        utilisation=0.5,
        budget_use=None,
        incidents=0,
        mean_resolve_s=None,
        incident_open_s=0.0,
        workflows=1,
        forecast=Forecast(0.15 if days is not None else None, days, "capacity", ""),
    )


def _analysis(*ranking: IntegrationVerdict) -> Analysis:
    constraint = ranking[0] if ranking and ranking[0].breaching else None
    return Analysis(0.0, 600.0, constraint, ranking, (), (), "summary")


def test_the_grader_holds_the_constraint_its_reason_and_bystanders_apart() -> None:
    """The right integration for another reason is half right; a second integration that
    breaks its SLO is a false alarm; anything named in a healthy state is wrong and an alarm."""
    expected = Expected("crm", frozenset({"outages"}))
    right = grade(expected, _analysis(_verdict("crm", Reason.OUTAGES), _verdict("email", None)))
    assert (right.constraint_right, right.reason_right, right.false_alarms) == (True, True, ())
    half = grade(expected, _analysis(_verdict("crm", Reason.TIMEOUTS)))
    assert (half.constraint_right, half.reason_right) == (True, False)
    noisy = _analysis(_verdict("crm", Reason.OUTAGES), _verdict("email", Reason.ERRORS))
    assert grade(expected, noisy).false_alarms == ("email",)
    healthy = grade(Expected(None), _analysis(_verdict("email", Reason.ERRORS)))
    assert (healthy.constraint_right, healthy.reason_right, healthy.false_alarms) == (
        False,
        False,
        ("email",),
    )
    assert grade(Expected(None), _analysis(_verdict("email", None))).reason_right


def test_the_grader_reads_the_forecast_that_saturates_first() -> None:
    """A forecast is right when nothing breaks now and the expected integration saturates
    first, within the range; a later or an earlier date is wrong."""
    expected = Expected("crm", forecast_days=(31.0, 43.0))
    soon = grade(expected, _analysis(_verdict("crm", None, 37.0), _verdict("email", None, 90.0)))
    assert (soon.constraint_right, soon.reason_right) == (True, True)
    late = grade(expected, _analysis(_verdict("crm", None, 67.0)))
    assert (late.constraint_right, late.reason_right) == (True, False)
    other = grade(expected, _analysis(_verdict("crm", None, 37.0), _verdict("email", None, 20.0)))
    assert not other.constraint_right


def test_the_score_counts_false_alarms_over_healthy_states_only() -> None:
    """The score line: constraints and reasons right over all, false alarms over the healthy
    scenarios (a bystander named beside a planted fault shows in its row, not the count)."""
    healthy, faulty = SCENARIOS[0], SCENARIOS[1]
    assert healthy.expected.healthy and not faulty.expected.healthy
    rows = [
        Scored(healthy, grade(healthy.expected, _analysis(_verdict("email", Reason.ERRORS))), 1),
        Scored(faulty, grade(faulty.expected, _analysis(_verdict("crm", Reason.OUTAGES))), 2),
    ]
    lines = table(rows)
    assert lines[-1] == "constraint right: 1/2; reason right: 1/2; false alarms: 1/1 healthy"
    assert (
        "| healthy_noisy | no constraint | email (errors, flow f) | wrong | wrong | email |"
        in (lines[2])
    )
