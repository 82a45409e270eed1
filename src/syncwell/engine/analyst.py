"""The constraint, analysed on a schedule while the engine runs (Repeat, without a person
remembering to): each analysis is kept, and a move of the constraint is logged and announced
through the workspace's alert webhook as `constraint.moved`."""

from __future__ import annotations

import asyncio

import structlog

from syncwell.analyze import Analysis, analyze
from syncwell.errors import StoreError
from syncwell.measure.alerts import AlertSender
from syncwell.store import Store
from syncwell.workspace import Workspace

__all__ = ["Analyst"]

log = structlog.get_logger("syncwell.analyst")


class Analyst:
    """Analyses one workspace's measurements every so often.

    Args:
        workspace: what to analyse.
        window_s: how far back each analysis looks.
    """

    def __init__(self, workspace: Workspace, window_s: float = 86400.0) -> None:
        self.workspace = workspace
        self.window_s = window_s
        self.alerts: AlertSender | None = None

    async def every(self, store: Store, seconds: float, *, first_after_s: float = 60.0) -> None:
        """Analyse every `seconds` (real time); the first time after `first_after_s` at most,
        so a new run names its constraint (in the dashboard, say) within a minute."""
        wait = min(seconds, first_after_s)
        while True:
            await asyncio.sleep(wait)
            wait = seconds
            try:
                await self.once(store)
            except StoreError as error:
                log.warning("constraint analysis skipped", error=str(error))

    async def once(self, store: Store) -> Analysis:
        """Analyse now, keep it, and say so if the constraint moved since the last one."""
        kept = await store.analyses.list(limit=1)
        before = (kept[-1].integration, kept[-1].reason) if kept else (None, None)
        analysis = await analyze(store, workspace=self.workspace, window_s=self.window_s)
        constraint = analysis.constraint
        after = (constraint.integration, str(constraint.reason)) if constraint else (None, None)
        if after != before:
            (newest,) = await store.analyses.list(limit=1)
            self._moved(before, after, analysis, newest.id)
        return analysis

    def _moved(
        self,
        before: tuple[str | None, str | None],
        after: tuple[str | None, str | None],
        analysis: Analysis,
        analysis_id: int,
    ) -> None:
        log.warning(
            "constraint moved",
            before=before[0],
            before_reason=before[1],
            after=after[0],
            after_reason=after[1],
            evidence=analysis.summary,
        )
        if self.alerts is not None:
            self.alerts.announce(
                "moved",
                {
                    "id": analysis_id,
                    "before": before[0],
                    "before_reason": before[1],
                    "after": after[0],
                    "after_reason": after[1],
                    "flow": analysis.constraint.flow if analysis.constraint else None,
                    "evidence": analysis.summary,
                    "at": analysis.at,
                },
                topic="constraint",
            )
