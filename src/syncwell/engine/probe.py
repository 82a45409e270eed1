"""`syncwell probe`: every system of the workspace checked for real, nothing written.

`syncwell check` reads the file; this connects. For each system: can syncwell sign in and
reach it; for each flow, does the source hold the stream with the flow's key, cursor and
fields, does the destination hold the table with them (and a unique index on the key); and
for an http flow with an incremental filter, does the filter return what changed (its
self-check, from the flow's checkpoint when the state has one). Each finding is ok, warn or
fail, with the fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog

from syncwell.connectors import http, open_source
from syncwell.connectors.http.probe import Finding, Status, failed, patiently, probe_stream
from syncwell.engine.policies import RateLimiter
from syncwell.engine.probe_tables import destination_table
from syncwell.errors import ConnectorError, StoreError
from syncwell.store import open_store
from syncwell.types import Checkpoint, Clock, StreamSpec, SystemClock
from syncwell.workspace import Flow, Mode, System, Workspace

__all__ = ["ProbeResult", "probe_workspace"]

log = structlog.get_logger("syncwell.probe")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One finding about one system (and flow, when it is about a flow).

    Attributes:
        system: the system checked.
        flow: the flow the finding is about; empty for the system as a whole.
        check: what was checked (connect, read, table, key, cursor, fields, filter, state).
        status: ok, warn or fail.
        found: what the check saw.
        fix: what to change; empty when nothing needs to.
    """

    system: str
    flow: str
    check: str
    status: Status
    found: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """The result as JSON would hold it."""
        return asdict(self)


async def probe_workspace(workspace: Workspace, clock: Clock | None = None) -> list[ProbeResult]:
    """Every live check of every system, systems side by side, in the file's order."""
    clock = clock or SystemClock()
    checkpoints, state = await _checkpoints(workspace)
    found = await asyncio.gather(
        *(
            _probe_system(workspace, system, checkpoints, clock)
            for system in workspace.systems.values()
        )
    )
    return [*state, *(result for results in found for result in results)]


async def _probe_system(
    workspace: Workspace, system: System, checkpoints: dict[str, Checkpoint], clock: Clock
) -> list[ProbeResult]:
    # Manual flows are mapped, not automated: nothing of theirs has to work yet.
    flows = [flow for flow in workspace.flows.values() if flow.mode is not Mode.MANUAL]
    reading = [flow for flow in flows if flow.source == system.name]
    writing = [flow for flow in flows if flow.destination == system.name]
    if system.kind in ("postgres", "sqlite"):
        return await _probe_database(system, reading, writing)
    if isinstance(system.settings, http.Settings):
        return await _probe_http(system, system.settings, reading, writing, checkpoints, clock)
    what = f"a {system.kind} system cannot be checked without writing; its first delivery will"
    return [ProbeResult(system.name, "", "connect", "warn", what, "watch its first run")]


async def _probe_database(
    system: System, reading: list[Flow], writing: list[Flow]
) -> list[ProbeResult]:
    name = system.name
    path = getattr(system.settings, "path", None)
    if isinstance(path, str) and path != ":memory:" and not await _exists(path):
        fix = "create the database and its tables, or fix the system's path"
        return [ProbeResult(name, "", "connect", "fail", f"no file at {path}", fix)]
    try:
        source = await open_source(name, system.settings)
    except ConnectorError as error:
        return [ProbeResult(name, "", "connect", "fail", str(error), "check the dsn")]
    results = [ProbeResult(name, "", "connect", "ok", "connected")]
    try:
        for flow in reading:
            results.append(await _source_table(source.estimate, flow, name))
        for flow in writing:
            found = await destination_table(system, flow)
            results.append(_result(name, flow.name, found))
    finally:
        await source.aclose()
    return results


async def _source_table(
    estimate: Callable[[StreamSpec], Awaitable[int | None]], flow: Flow, system: str
) -> ProbeResult:
    """The source connector's own table check (it runs before its estimate), and a count."""
    spec = flow.source_spec()
    try:
        rows = await estimate(spec)
    except ConnectorError as error:
        return ProbeResult(system, flow.name, "table", "fail", str(error))
    what = [*spec.key, *filter(None, (spec.cursor, spec.version)), *spec.columns]
    columns = ", ".join(dict.fromkeys(what))
    found = f"table {spec.name} holds {columns}; about {rows} row(s)"
    return ProbeResult(system, flow.name, "table", "ok", found)


async def _probe_http(
    system: System,
    settings: http.Settings,
    reading: list[Flow],
    writing: list[Flow],
    checkpoints: dict[str, Checkpoint],
    clock: Clock,
) -> list[ProbeResult]:
    budget = RateLimiter(system.rate_limit, clock)
    source = await http.open_source(system.name, settings, budget=budget, clock=clock)
    results: list[ProbeResult] = []
    try:
        for flow in reading:
            checkpoint = checkpoints.get(flow.name)
            findings = await probe_stream(source, flow.source_spec(), checkpoint, clock)
            results += [_result(system.name, flow.name, finding) for finding in findings]
        if not reading:
            results.append(await _sign_in(source, settings, system.name, clock))
    finally:
        await source.aclose()
    return results


async def _sign_in(
    source: http.HttpSource, settings: http.Settings, system: str, clock: Clock
) -> ProbeResult:
    """The credentials of a system only written to, checked by reading any readable stream."""
    readable = next((name for name, s in settings.streams.items() if s.read), None)
    if readable is None:
        found = "no stream of it can be read, and writing is the only other check"
        return ProbeResult(system, "", "connect", "warn", found, "watch its first delivery")
    try:
        spec = StreamSpec(name=readable, key=("id",))
        records = await patiently(lambda: source.sample(spec), clock)
    except ConnectorError as error:
        return _result(system, "", failed("connect", error, "check base_url and auth"))
    found = f"signed in: stream {readable} answered with {len(records)} record(s)"
    return ProbeResult(system, "", "connect", "ok", found)


def _result(system: str, flow: str, finding: Finding) -> ProbeResult:
    return ProbeResult(system, flow, finding.check, finding.status, finding.found, finding.fix)


async def _checkpoints(workspace: Workspace) -> tuple[dict[str, Checkpoint], list[ProbeResult]]:
    """Each flow's committed checkpoint, when the state exists; a warning when it cannot be read.

    A never-run workspace has none: the filter check then samples the newest records itself.
    """
    prefix = "sqlite:///"
    if workspace.state.startswith(prefix) and not await _exists(workspace.state[len(prefix) :]):
        return {}, []
    try:
        store = await open_store(workspace.state)
    except StoreError as error:
        fix = "the filter checks sample the newest records instead"
        return {}, [ProbeResult("state", "", "state", "warn", str(error), fix)]
    try:
        found = await store.journal.checkpoints()
    finally:
        await store.close()
    return {flow: checkpoint for flow, (checkpoint, _) in found.items()}, []


async def _exists(path: str) -> bool:
    return await asyncio.to_thread(Path(path).exists)
