"""How the constraint moved: the analyses kept, read as a list of moves."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from syncwell.store import StoredAnalysis

__all__ = ["Move", "moves"]


@dataclass(frozen=True, slots=True)
class Move:
    """The constraint changed at `at`, from one integration (or none) to another (or none)."""

    at: float
    before: str | None
    before_reason: str | None
    after: str | None
    after_reason: str | None
    why: str


def moves(analyses: Sequence[StoredAnalysis]) -> list[Move]:
    """Each change of constraint (integration or reason) across `analyses`, oldest first; the
    first analysis counts as a move from nothing."""
    found: list[Move] = []
    before: tuple[str | None, str | None] | None = None
    for analysis in analyses:
        now = (analysis.integration, analysis.reason)
        if now != before:
            previous = before or (None, None)
            found.append(
                Move(
                    analysis.at,
                    previous[0],
                    previous[1],
                    now[0],
                    now[1],
                    _why(analysis, previous[0]),
                )
            )
        before = now
    return found


def _why(analysis: StoredAnalysis, previous: str | None) -> str:
    """The new constraint's evidence, and how the old one stands now."""
    parts = [analysis.evidence]
    if previous is not None and previous != analysis.integration:
        parts.append(f"{previous} {_standing(analysis, previous)}")
    return "; ".join(part for part in parts if part)


def _standing(analysis: StoredAnalysis, integration: str) -> str:
    try:
        ranking = json.loads(analysis.report).get("ranking", [])
    except (ValueError, AttributeError):
        return "no longer the constraint"
    for verdict in ranking:
        if verdict.get("integration") == integration:
            if verdict.get("reason") is None:
                return "is now within its SLO"
            return f"still breaks its SLO ({verdict['reason']}) but less than the new constraint"
    return "is no longer in the workspace"
