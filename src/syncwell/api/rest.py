"""The REST API under /api/v1: the workspace, its flows, measurements, incidents, the
constraint and its history, and dead letters with replay and discard.

Reads need a viewer token; what changes state (replay, discard, a new analysis) needs an
operator's (api/auth.py). The routes read the state store, never a running engine, so
`syncwell serve` answers them while `syncwell run` works elsewhere. Each route declares the
model of its answer (api/models.py) and the errors it may answer, for the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from syncwell import display
from syncwell.analyze import analysis_dict, analyze, moves
from syncwell.analyze.tickets import ticket_counts, ticket_dict
from syncwell.api import models
from syncwell.api.auth import Access
from syncwell.api.health import systems_health
from syncwell.map import map_document
from syncwell.store import Store, Tokens, open_store
from syncwell.store.dead_letters import DeadLetterStatus
from syncwell.transport.admin import with_stream
from syncwell.workspace import Workspace

__all__ = ["StoreHolder", "rest_router"]

_DAY_S = 86400.0

_YEAR_S = 366 * _DAY_S
UnixTime = Annotated[float, Query(ge=0, le=2**33, allow_inf_nan=False)]
"""A moment as Unix seconds, finite and within the years a store can hold."""

DeadLetterId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The dead letter's id.")]
"""An id the store can hold (a 64-bit integer): a larger one is refused with 422, not a 500."""

_Responses = dict[int | str, dict[str, Any]]

_UNAUTHORIZED: _Responses = {
    401: {
        "model": models.ErrorBody,
        "description": "No token, or an unknown or revoked one (sent with WWW-Authenticate).",
    }
}
_READ: _Responses = {
    **_UNAUTHORIZED,
    403: {"model": models.ErrorBody, "description": "The token's role is below viewer."},
}
"""What every read may refuse: a cookie's reads need no CSRF token."""

_WRITE: _Responses = {
    **_UNAUTHORIZED,
    403: {
        "model": models.ErrorBody,
        "description": "The token's role is below operator, or the session cookie came "
        "without the session's CSRF token (X-CSRF-Token).",
    },
}
"""What every route that changes state may refuse."""

_PARAMETERS: _Responses = {
    422: {
        "model": models.ValidationErrorBody,
        "description": "A parameter is malformed or out of its range.",
    }
}
"""FastAPI refuses bad parameters with its own body, whose `detail` is a list."""

_NO_DEAD_LETTER: _Responses = {
    404: {"model": models.ErrorBody, "description": "No dead letter has this id."}
}
_NO_ANALYSIS: _Responses = {
    404: {"model": models.ErrorBody, "description": "No analysis kept yet: POST one first."}
}
_NOT_OPEN: _Responses = {
    409: {
        "model": models.ErrorBody,
        "description": "The dead letter is not open (already replayed or discarded), or none "
        "has this id.",
    }
}


class StoreHolder:
    """The app's state store, opened on first use (a test's in-process client runs no
    lifespan) and closed with the server."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._store: Store | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Store:
        """The open store."""
        async with self._lock:
            if self._store is None:
                self._store = await open_store(self._url)
            return self._store

    async def tokens(self) -> Tokens:
        """The store's tokens (the store opened if it was not)."""
        return (await self.get()).tokens

    async def close(self) -> None:
        """Close the store, if it was opened."""
        if self._store is not None:
            await self._store.close()
            self._store = None


def rest_router(workspace: Workspace, holder: StoreHolder) -> APIRouter:
    """The /api/v1 routes for `workspace`, on the store `holder` keeps."""
    access = Access(holder.tokens)
    viewer = [Depends(access.require("viewer"))]
    operator = [Depends(access.require("operator"))]
    router = APIRouter(prefix="/api/v1")
    _read_routes(router, workspace, holder, viewer)
    _dead_letter_routes(router, holder, viewer, operator)
    _constraint_routes(router, workspace, holder, viewer, operator)
    return router


def _read_routes(
    router: APIRouter, workspace: Workspace, holder: StoreHolder, viewer: list[Any]
) -> None:
    @router.get(
        "/workspace", dependencies=viewer, response_model=models.WorkspaceMap, responses=_READ
    )
    async def get_workspace() -> dict[str, Any]:
        """The workspace drawn as data: systems, flows with mode and SLO, workflows."""
        return dict(map_document(workspace))

    @router.get(
        "/systems", dependencies=viewer, response_model=list[models.System], responses=_READ
    )
    async def get_systems() -> list[dict[str, Any]]:
        """Each system: its kind, its flows and, for an integration, how it stands: its place
        in the newest analysis, its open incidents and dead letters."""
        store = await holder.get()
        kept = await store.analyses.list(limit=1)
        found = await systems_health(store, workspace, kept[-1] if kept else None)
        return [dataclasses.asdict(system) for system in found]

    @router.get(
        "/flows", dependencies=viewer, response_model=list[models.FlowReport], responses=_READ
    )
    async def get_flows() -> list[dict[str, Any]]:
        """Where each flow stands: checkpoint, backlog, last success, retries, dead letters."""
        store = await holder.get()
        reports = await store.reports.flows(list(workspace.flows))
        # With a transport, what waits in the stream too (or why it could not be read).
        return [display.report_dict(r) for r in await with_stream(workspace, reports)]

    @router.get(
        "/measurements",
        dependencies=viewer,
        response_model=list[models.MeasurementMinute],
        responses=_READ | _PARAMETERS,
    )
    async def get_measurements(
        flow: str | None = None,
        since: Annotated[UnixTime | None, Query(description="Default: a day ago.")] = None,
        until: Annotated[UnixTime | None, Query(description="Default: now.")] = None,
    ) -> list[dict[str, Any]]:
        """Per-flow, per-minute measurements (docs/measurements.md), oldest first."""
        store = await holder.get()
        start = time.time() - _DAY_S if since is None else since
        return await store.measurements.read(since=start, until=until, flow=flow)

    @router.get(
        "/incidents",
        dependencies=viewer,
        response_model=list[models.Incident],
        responses=_READ | _PARAMETERS,
    )
    async def get_incidents(
        since: Annotated[UnixTime | None, Query(description="Default: a week ago.")] = None,
    ) -> list[dict[str, Any]]:
        """Incidents opened since `since`, and every one still open, newest first."""
        store = await holder.get()
        start = time.time() - 7 * _DAY_S if since is None else since
        return [display.incident_dict(i) for i in await store.incidents.list(since=start)]

    @router.get(
        "/tickets",
        dependencies=viewer,
        response_model=list[models.TicketCounts],
        responses=_READ | _PARAMETERS,
    )
    async def get_tickets(
        since: Annotated[UnixTime | None, Query(description="Default: a week ago.")] = None,
    ) -> list[dict[str, Any]]:
        """Support tickets per integration (`tickets:` in the workspace): opened since `since`,
        still open, and the median time to resolve; most tickets first. Empty without one."""
        store = await holder.get()
        start = time.time() - 7 * _DAY_S if since is None else since
        return [ticket_dict(row) for row in await ticket_counts(store, since=start)]


def _dead_letter_routes(
    router: APIRouter, holder: StoreHolder, viewer: list[Any], operator: list[Any]
) -> None:
    @router.get(
        "/dead-letters",
        dependencies=viewer,
        response_model=list[models.DeadLetter],
        responses=_READ | _PARAMETERS,
    )
    async def list_dead_letters(
        flow: str | None = None,
        state: Annotated[DeadLetterStatus | None, Query(alias="status")] = "open",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """The newest dead letters, with their record, reason and attempts."""
        store = await holder.get()
        letters = await store.dead_letters.list(flow=flow, status=state, limit=limit)
        return [display.dead_letter_dict(letter) for letter in letters]

    @router.get(
        "/dead-letters/{dead_letter_id}",
        dependencies=viewer,
        response_model=models.DeadLetter,
        responses=_READ | _NO_DEAD_LETTER | _PARAMETERS,
    )
    async def get_dead_letter(dead_letter_id: DeadLetterId) -> dict[str, Any]:
        """One dead letter."""
        letter = await (await holder.get()).dead_letters.get(dead_letter_id)
        if letter is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dead letter {dead_letter_id}")
        return display.dead_letter_dict(letter)

    @router.post(
        "/dead-letters/{dead_letter_id}/replay",
        dependencies=operator,
        response_model=models.Resolution,
        responses=_WRITE | _NOT_OPEN | _PARAMETERS,
    )
    async def replay(dead_letter_id: DeadLetterId) -> dict[str, Any]:
        """Send an open dead letter back through its flow; the engine delivers it."""
        done = await (await holder.get()).dead_letters.replay([dead_letter_id])
        return _resolved("replayed", dead_letter_id, done)

    @router.post(
        "/dead-letters/{dead_letter_id}/discard",
        dependencies=operator,
        response_model=models.Resolution,
        responses=_WRITE | _NOT_OPEN | _PARAMETERS,
    )
    async def discard(dead_letter_id: DeadLetterId) -> dict[str, Any]:
        """Give up on an open dead letter."""
        done = await (await holder.get()).dead_letters.discard([dead_letter_id])
        return _resolved("discarded", dead_letter_id, done)


def _resolved(verb: str, dead_letter_id: int, done: list[int]) -> dict[str, Any]:
    if not done:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"dead letter {dead_letter_id} is not open (or not there)"
        )
    return {"id": dead_letter_id, "status": verb}


def _constraint_routes(
    router: APIRouter,
    workspace: Workspace,
    holder: StoreHolder,
    viewer: list[Any],
    operator: list[Any],
) -> None:
    @router.get(
        "/constraint",
        dependencies=viewer,
        response_model=models.KeptAnalysis,
        responses=_READ | _NO_ANALYSIS,
    )
    async def get_constraint() -> dict[str, Any]:
        """The newest kept analysis: the constraint (or none), the ranking, breaching flows."""
        kept = await (await holder.get()).analyses.list(limit=1)
        if not kept:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, "no analysis yet: POST /api/v1/constraint makes one"
            )
        newest = kept[-1]
        return {
            "id": newest.id,
            "at": newest.at,
            "window_s": newest.window_s,
            **json.loads(newest.report),
        }

    @router.post(
        "/constraint",
        dependencies=operator,
        response_model=models.Analysis,
        responses=_WRITE | _PARAMETERS,
    )
    async def analyse(
        window_s: Annotated[float, Query(gt=0, le=_YEAR_S, allow_inf_nan=False)] = _DAY_S,
    ) -> dict[str, Any]:
        """Analyse the last `window_s` seconds now, keep it, and return it whole."""
        found = await analyze(await holder.get(), workspace=workspace, window_s=window_s)
        return analysis_dict(found)

    @router.get(
        "/constraint/history",
        dependencies=viewer,
        response_model=list[models.ConstraintMove],
        responses=_READ,
    )
    async def history() -> list[dict[str, Any]]:
        """How the constraint moved: each change, from where to where, and why."""
        kept = await (await holder.get()).analyses.list()
        return [dataclasses.asdict(move) for move in moves(kept)]
