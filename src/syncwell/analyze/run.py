"""One analysis, from the store to a kept verdict: what `syncwell constraint` calls."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from syncwell.analyze.facts import gather
from syncwell.analyze.judge import judge
from syncwell.analyze.report import kept_report
from syncwell.analyze.tickets import ticket_evidence
from syncwell.analyze.verdict import Analysis
from syncwell.analyze.whatif import apply_what_if, parse_what_if, what_if_estimates
from syncwell.store import Store, StoredAnalysis
from syncwell.workspace import Workspace

__all__ = ["analyze"]


async def analyze(
    store: Store,
    *,
    workspace: Workspace,
    window_s: float,
    at: float | None = None,
    what_if: Sequence[str] = (),
) -> Analysis:
    """Analyse the last `window_s` seconds and keep the result (a what-if is not kept: it did
    not happen).

    Raises:
        WhatIfError: a what-if change cannot be read.
    """
    now = time.time() if at is None else at
    changes = parse_what_if(what_if, list(workspace.flows))
    facts = await gather(store, workspace, window_s=window_s, at=now)
    changed, volumes = apply_what_if(facts, changes)
    analysis = judge(changed, volumes, tuple(what_if))
    if changes:
        estimates = what_if_estimates(facts, changed)
        analysis = dataclasses.replace(analysis, estimates=estimates)
    if workspace.tickets is not None:
        unhealthy = {v.integration for v in analysis.ranking if v.reason is not None}
        if analysis.constraint is not None:
            unhealthy.add(analysis.constraint.integration)
        evidence = await ticket_evidence(store, since=now - window_s, unhealthy=unhealthy)
        analysis = dataclasses.replace(analysis, tickets=evidence)
    if not changes:
        await store.analyses.add(_stored(analysis))
    return analysis


def _stored(analysis: Analysis) -> StoredAnalysis:
    constraint = analysis.constraint
    return StoredAnalysis(
        id=0,
        at=analysis.at,
        window_s=analysis.window_s,
        integration=constraint.integration if constraint else None,
        flow=constraint.flow if constraint else None,
        reason=str(constraint.reason) if constraint else None,
        evidence=constraint.evidence if constraint else analysis.summary,
        report=kept_report(analysis),
    )
