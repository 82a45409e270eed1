"""The constraint analysis: which integration limits the workflows now, why, what to change,
when the next one saturates, and how the constraint moved (docs/constraint.md).

    analysis = await analyze(store, workspace=workspace, window_s=86400)
    print("\\n".join(analysis_text(analysis)))

It reads measurements, incidents and dead letters from the store, never a connector.
"""

from __future__ import annotations

from syncwell.analyze.facts import FlowFacts, IncidentFacts, WorkspaceFacts, flow_facts, gather
from syncwell.analyze.history import Move, moves
from syncwell.analyze.judge import judge, judge_flow
from syncwell.analyze.load import Load, flow_load
from syncwell.analyze.report import analysis_dict, analysis_json, analysis_text, kept_report
from syncwell.analyze.run import analyze
from syncwell.analyze.verdict import (
    Analysis,
    FlowVerdict,
    Forecast,
    IntegrationVerdict,
    Reason,
    WorkflowLimit,
)
from syncwell.analyze.whatif import (
    WhatIf,
    WhatIfError,
    apply_what_if,
    parse_what_if,
    what_if_estimates,
)
from syncwell.analyze.workflows import model_workflows

__all__ = [
    "Analysis",
    "FlowFacts",
    "FlowVerdict",
    "Forecast",
    "IncidentFacts",
    "IntegrationVerdict",
    "Load",
    "Move",
    "Reason",
    "WhatIf",
    "WhatIfError",
    "WorkflowLimit",
    "WorkspaceFacts",
    "analysis_dict",
    "analysis_json",
    "analysis_text",
    "analyze",
    "apply_what_if",
    "flow_facts",
    "flow_load",
    "gather",
    "judge",
    "judge_flow",
    "kept_report",
    "model_workflows",
    "moves",
    "parse_what_if",
    "what_if_estimates",
]
