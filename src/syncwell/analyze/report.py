"""An analysis as JSON (for scripts and the store) and as text (for people)."""

from __future__ import annotations

import dataclasses
import json
import math

from syncwell.analyze.tickets import ticket_lines
from syncwell.analyze.verdict import Analysis, IntegrationVerdict
from syncwell.analyze.words import duration, percent

__all__ = ["analysis_dict", "analysis_json", "analysis_text", "kept_report"]


def analysis_dict(analysis: Analysis) -> dict[str, object]:
    """Plain JSON-ready values; an infinite utilisation (a tool that took nothing) is null."""
    return _plain(analysis)  # type: ignore[return-value]


def analysis_json(analysis: Analysis) -> str:
    """`analysis_dict` as compact JSON."""
    return json.dumps(analysis_dict(analysis), separators=(",", ":"))


def kept_report(analysis: Analysis) -> str:
    """What the store keeps of an analysis, as JSON: enough for the history and the map (the
    constraint, the ranking, which flows breached), without every flow's numbers, which at
    5,000 flows are megabytes an analysis."""
    report = {
        "summary": analysis.summary,
        "constraint": _plain(analysis.constraint),
        "ranking": [
            {
                "integration": v.integration,
                "reason": v.reason,
                "flow": v.flow,
                "severity": v.severity,
            }
            for v in analysis.ranking
        ],
        "judged": [v.flow for v in analysis.flows],
        "breaching": [v.flow for v in analysis.flows if v.breaching],
        "tickets": _plain(analysis.tickets),
    }
    return json.dumps(_plain(report), separators=(",", ":"))


def _plain(value: object) -> object:
    """`value` as JSON values, in one walk (dataclasses.asdict deep-copies as it goes)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | int | None):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value))  # type: ignore[arg-type]
    return {name: _plain(getattr(value, name)) for name in names}


_FIELDS: dict[type, tuple[str, ...]] = {}
"""Field names by dataclass, looked up once each."""


def analysis_text(analysis: Analysis) -> list[str]:
    """The report for a terminal: the constraint, its evidence and advice, then the ranking."""
    lines = []
    if analysis.what_if:
        lines.append(f"what if {', '.join(analysis.what_if)}:")
        lines += [f"  estimate: {line}" for line in analysis.estimates]
    constraint = analysis.constraint
    if constraint is None:
        lines.append(analysis.summary)
    else:
        lines.append(f"constraint: {constraint.integration} — {_reason(constraint)}")
        lines.append(f"  evidence: {constraint.evidence}")
        lines += [f"  advice: {advice}" for advice in constraint.advice]
        lines.append(f"  forecast: {constraint.forecast.sentence}")
        own = analysis.tickets.of(constraint.integration) if analysis.tickets else None
        if own is not None:
            lines.append(f"  tickets: {own.opened} opened in the window, {own.still_open} open")
    lines.append("")
    lines.append(f"integrations, over the last {duration(analysis.window_s)}:")
    for rank, verdict in enumerate(analysis.ranking, 1):
        lines.append(f"  {rank}. {_row(verdict)}")
    limited = [w for w in analysis.workflows if w.integration is not None]
    if limited:
        lines.append("")
        lines.append("workflows:")
        for workflow in limited:
            lines.append(
                f"  {workflow.workflow}: limited by {workflow.integration} ({workflow.reason})"
            )
    if analysis.tickets is not None:
        lines.append("")
        lines += ticket_lines(analysis.tickets)
    return lines


def _reason(verdict: IntegrationVerdict) -> str:
    return f"{verdict.reason} (flow {verdict.flow})"


def _row(verdict: IntegrationVerdict) -> str:
    state = str(verdict.reason) if verdict.reason else "ok"
    load = "" if verdict.utilisation is None else f", {percent(verdict.utilisation)} of capacity"
    if verdict.utilisation is not None and not math.isfinite(verdict.utilisation):
        load = ", took nothing while work waited"
    budget = (
        "" if verdict.budget_use is None else f", {percent(verdict.budget_use)} of its rate limit"
    )
    incidents = ""
    if verdict.incidents:
        mttr = verdict.mean_resolve_s
        plural = "" if verdict.incidents == 1 else "s"
        incidents = f", {verdict.incidents} incident{plural}" + (
            f" (resolved in {duration(mttr)} on average)" if mttr is not None else ""
        )
    if verdict.capacity_bound == "rate_limit":
        budget = ""  # the capacity is the budget: said once
    forecast = (
        f"; {verdict.forecast.sentence}" if verdict.forecast.growth_per_week is not None else ""
    )
    return (
        f"{verdict.integration}: {state}{load}{budget}{incidents}; "
        f"in {verdict.workflows} workflow{'' if verdict.workflows == 1 else 's'}{forecast}"
    )
