"""The grade of an analysis against the answer a planted scenario knows in advance (issue 13):
the constraint named, the reason, and the false alarms beside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from syncwell.analyze import Analysis, IntegrationVerdict

__all__ = ["Expected", "Grade", "grade"]


@dataclass(frozen=True)
class Expected:
    """The answer known in advance.

    Attributes:
        integration: the constraint (None: there is none); for a forecast, the integration
            that saturates first.
        reasons: the reason categories that are right (as `Reason` values, which may not all
            exist yet); empty when there is no constraint.
        forecast_days: for a forecast, the range its days to saturation must fall in.
    """

    integration: str | None
    reasons: frozenset[str] = frozenset()
    forecast_days: tuple[float, float] | None = None

    @property
    def healthy(self) -> bool:
        """Whether no integration breaks its SLO now (any named is a false alarm)."""
        return self.integration is None or self.forecast_days is not None

    def text(self) -> str:
        """The expected answer in a few words."""
        if self.forecast_days is not None:
            low, high = self.forecast_days
            return f"none now; {self.integration} saturates in {low:.0f}-{high:.0f} days"
        if self.integration is None:
            return "no constraint"
        return f"{self.integration} ({' or '.join(sorted(self.reasons))})"


@dataclass(frozen=True)
class Grade:
    """An analysis held against the expected answer.

    Attributes:
        constraint_right: the right integration named (or none, where none is right).
        reason_right: and for a right reason (a healthy state: nothing named at all).
        false_alarms: integrations named as breaking their SLO that do not.
        answer: what the analysis answered, in a few words.
        evidence: its evidence (or forecast) for that answer.
    """

    constraint_right: bool
    reason_right: bool
    false_alarms: tuple[str, ...]
    answer: str
    evidence: str


def grade(expected: Expected, analysis: Analysis) -> Grade:
    """How `analysis` answers where the answer is `expected`."""
    constraint = analysis.constraint
    alarms = tuple(
        v.integration
        for v in analysis.ranking
        if v.breaching and (expected.healthy or v.integration != expected.integration)
    )
    if expected.forecast_days is not None:
        return _grade_forecast(expected, analysis, alarms)
    if constraint is None:
        named = expected.integration is None
        return Grade(named, named, alarms, "no constraint", analysis.summary)
    right = constraint.integration == expected.integration
    reason = str(constraint.reason)
    answer = f"{constraint.integration} ({reason}, flow {constraint.flow})"
    return Grade(right, right and reason in expected.reasons, alarms, answer, constraint.evidence)


def _grade_forecast(expected: Expected, analysis: Analysis, alarms: tuple[str, ...]) -> Grade:
    assert expected.forecast_days is not None
    first = _saturates_first(analysis.ranking)
    if first is None:
        return Grade(False, False, alarms, "nothing saturates", analysis.summary)
    days = first.forecast.days_to_saturation
    assert days is not None
    low, high = expected.forecast_days
    right = first.integration == expected.integration and analysis.constraint is None
    answer = f"{first.integration} saturates in {days:.0f} days"
    return Grade(right, right and low <= days <= high, alarms, answer, first.forecast.sentence)


def _saturates_first(ranking: Sequence[IntegrationVerdict]) -> IntegrationVerdict | None:
    dated = [v for v in ranking if v.forecast.days_to_saturation is not None]
    return min(dated, key=lambda v: v.forecast.days_to_saturation or 0.0, default=None)
