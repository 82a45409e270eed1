"""What an operator asks of a workspace's state outside a run: status, dead letters,
incidents and the constraint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from syncwell.analyze import Analysis, analyze
from syncwell.map import Health
from syncwell.store import (
    DeadLetter,
    FlowReport,
    Incident,
    Role,
    Store,
    StoredAnalysis,
    Token,
    open_store,
)
from syncwell.store.dead_letters import DeadLetterStatus
from syncwell.workspace import Workspace

__all__ = [
    "analyses",
    "constraint",
    "create_token",
    "discard",
    "flow_reports",
    "latest_constraint",
    "list_dead_letters",
    "list_incidents",
    "list_tokens",
    "live_token",
    "map_overlay",
    "replay",
    "resync",
    "revoke_token",
    "show_dead_letter",
]


@asynccontextmanager
async def _store(workspace: Workspace) -> AsyncIterator[Store]:
    store = await open_store(workspace.state)
    try:
        yield store
    finally:
        await store.close()


async def flow_reports(workspace: Workspace) -> list[FlowReport]:
    """Where each flow of the workspace stands, in file order."""
    async with _store(workspace) as store:
        return await store.reports.flows(list(workspace.flows))


async def list_dead_letters(
    workspace: Workspace, *, flow: str | None, status: DeadLetterStatus | None, limit: int
) -> list[DeadLetter]:
    """The newest dead letters."""
    async with _store(workspace) as store:
        return await store.dead_letters.list(flow=flow, status=status, limit=limit)


async def show_dead_letter(workspace: Workspace, dead_letter_id: int) -> DeadLetter | None:
    """One dead letter, with its record."""
    async with _store(workspace) as store:
        return await store.dead_letters.get(dead_letter_id)


async def replay(workspace: Workspace, ids: Sequence[int]) -> list[int]:
    """Send open dead letters back through their flow; the next run delivers them."""
    async with _store(workspace) as store:
        return await store.dead_letters.replay(ids)


async def discard(workspace: Workspace, ids: Sequence[int]) -> list[int]:
    """Give up on open dead letters."""
    async with _store(workspace) as store:
        return await store.dead_letters.discard(ids)


async def resync(workspace: Workspace, flows: Sequence[str]) -> None:
    """Make each flow's next read a first sync again (engine/firstsync.py): its checkpoint
    goes, so the read starts from the beginning, compares and writes what differs."""
    async with _store(workspace) as store:
        for flow in flows:
            await store.first_syncs.again(flow)


async def list_incidents(workspace: Workspace, *, since: float) -> list[Incident]:
    """Incidents opened since `since` (Unix seconds) and every one still open, newest first."""
    async with _store(workspace) as store:
        return await store.incidents.list(since=since)


async def constraint(
    workspace: Workspace, *, window_s: float, what_if: Sequence[str] = ()
) -> Analysis:
    """Analyse the last `window_s` seconds: the constraint, kept unless it is a what-if."""
    async with _store(workspace) as store:
        return await analyze(store, workspace=workspace, window_s=window_s, what_if=what_if)


async def analyses(workspace: Workspace, *, since: float = 0.0) -> list[StoredAnalysis]:
    """The analyses kept since `since`, oldest first."""
    async with _store(workspace) as store:
        return await store.analyses.list(since=since)


async def latest_constraint(workspace: Workspace) -> tuple[str | None, dict[str, Health]]:
    """The newest analysis, as the map shows it: the constraint's flow (None when there was
    none) and each flow's health. Nothing without a state store (a workspace never run):
    drawing a map must not create one."""
    if _never_run(workspace):
        return None, {}
    async with _store(workspace) as store:
        kept = await store.analyses.list(limit=1)
    return map_overlay(kept[-1]) if kept else (None, {})


def map_overlay(kept: StoredAnalysis) -> tuple[str | None, dict[str, Health]]:
    """What a kept analysis draws on the map: the constraint's flow (None when there was
    none) and each judged flow's health."""
    report = json.loads(kept.report)
    breaching = set(report.get("breaching", []))
    health: dict[str, Health] = {
        str(flow): "breach" if flow in breaching else "ok" for flow in report.get("judged", [])
    }
    return kept.flow, health


def _never_run(workspace: Workspace) -> bool:
    """Whether the workspace's state is an SQLite file that does not exist yet."""
    prefix = "sqlite:///"
    return workspace.state.startswith(prefix) and not Path(workspace.state[len(prefix) :]).exists()


async def create_token(workspace: Workspace, role: Role, name: str) -> tuple[Token, str]:
    """A new API token and its text (shown once: only its hash is kept)."""
    async with _store(workspace) as store:
        return await store.tokens.create(role, name)


async def live_token(workspace: Workspace, text: str) -> Token | None:
    """The live token `text` is, or None (unknown, revoked, or a store made anew)."""
    async with _store(workspace) as store:
        return await store.tokens.check(text, method="CLI", path="syncwell demo")


async def list_tokens(workspace: Workspace) -> list[Token]:
    """Every token, revoked ones too."""
    async with _store(workspace) as store:
        return await store.tokens.list()


async def revoke_token(workspace: Workspace, token_id: int) -> bool:
    """Revoke a token; False when no live token has that id."""
    async with _store(workspace) as store:
        return await store.tokens.revoke(token_id)
