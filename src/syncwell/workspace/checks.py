"""Checks that span fields or sections: a flow's columns, names that must refer to something,
workflows whose flows must join up.

Each check returns problems rather than raising, so the loader can report all of them at once.
They take plain names where they can, so that a flow that failed validation is still checked
for the systems it names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from syncwell.workspace.problems import Problem, did_you_mean
from syncwell.workspace.unsent import destination_name, needed_columns

if TYPE_CHECKING:
    from syncwell.workspace.model import Flow, System, Workflow, Workspace

__all__ = [
    "capture_problems",
    "core_problems",
    "flow_problems",
    "name_problems",
    "system_ref_problems",
    "unsent_problems",
    "workflow_problems",
    "workspace_problems",
]

# Names end up in URLs (/hooks/{system}), metric labels and log lines.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def name_problems(section: str, names: Iterable[str]) -> list[Problem]:
    """Problems with the names under `section` (systems, flows or workflows)."""
    return [
        Problem(
            (section, name),
            f"name '{name}' must start with a letter and hold only letters, digits, _ and -",
        )
        for name in names
        if not _NAME.fullmatch(name)
    ]


def system_ref_problems(
    flow: str, refs: Mapping[str, object], systems: Collection[str]
) -> list[Problem]:
    """Problems with the systems a flow names as `source` and `destination`."""
    problems = []
    for side in ("source", "destination"):
        name = refs.get(side)
        if isinstance(name, str) and name not in systems:
            message = _unknown("system", name, systems)
            problems.append(Problem(("flows", flow, side), message))
    source, destination = refs.get("source"), refs.get("destination")
    if isinstance(source, str) and source == destination:
        message = (
            f"source and destination are both '{source}'; a flow moves records between two "
            "different systems"
        )
        problems.append(Problem(("flows", flow, "destination"), message))
    return problems


def core_problems(core: object, systems: Collection[str]) -> list[Problem]:
    """Problems with the top-level `core`: it must name a system."""
    if core is None or (isinstance(core, str) and core in systems):
        return []
    if not isinstance(core, str):
        return [Problem(("core",), "core must be the name of a system")]
    return [Problem(("core",), _unknown("system", core, systems))]


def flow_problems(flow: Flow) -> list[Problem]:
    """Problems within one validated flow: its cursor and the columns it moves."""
    where = ("flows", flow.name)
    problems = []
    if flow.conflict not in ("newest", flow.source, flow.destination):
        message = (
            f"conflict '{flow.conflict}' is neither `newest` nor one of this flow's systems "
            f"({flow.source}, {flow.destination}); name the system whose changes win"
        )
        problems.append(Problem((*where, "conflict"), message))
    if flow.manual is not None and flow.mode != "manual":
        message = (
            f"manual: is for a step people do by hand; this flow is `mode: {flow.mode}`: "
            "write `mode: manual`, or remove manual:"
        )
        problems.append(Problem((*where, "manual"), message))
    if flow.cdc is not None and flow.mode != "cdc":
        message = (
            f"cdc: names the replication slot and publication of a `mode: cdc` flow; this flow "
            f"is `mode: {flow.mode}`: write `mode: cdc`, or remove cdc:"
        )
        problems.append(Problem((*where, "cdc"), message))
    missing: list[str] = []
    if flow.fields:
        needed = [*flow.key, flow.cursor, flow.version]
        missing = [c for c in dict.fromkeys(needed) if c is not None and c not in flow.fields]
        if missing:
            message = (
                f"fields leaves out {_listed(missing)}; add them: the key, cursor and version "
                "columns must be moved for the destination to apply changes in order"
            )
            problems.append(Problem((*where, "fields"), message))
        targets = list(flow.fields.values())
        doubled = sorted({column for column in targets if targets.count(column) > 1})
        if doubled:
            message = f"fields writes {_listed(doubled)} more than once; give each its own column"
            problems.append(Problem((*where, "fields"), message))
    return problems + _written_problems(flow, left_out=missing)


def _written_problems(flow: Flow, left_out: Collection[str] = ()) -> list[Problem]:
    """Problems with `read_only` and `write_fields`: names the flow does not move, and a
    column in both. A key, cursor or version column `fields` leaves out (`left_out`) is
    named there once, with its fix, not again here as a column the flow does not move."""
    where = ("flows", flow.name)
    problems = []
    for field in ("read_only", "write_fields"):
        for index, name in enumerate(getattr(flow, field) or ()):
            if destination_name(flow, name) is None and name not in left_out:
                message = (
                    f"{field} names '{name}', a column this flow does not move; name one of "
                    f"{_listed(flow.fields.values())} (the destination's names), or a source "
                    "column that `fields:` renames"
                )
                problems.append(Problem((*where, field, index), message))
    if flow.write_fields is not None:
        written = {destination_name(flow, name) for name in flow.write_fields}
        for index, name in enumerate(flow.read_only):
            if destination_name(flow, name) in written:
                message = (
                    f"'{name}' is in both read_only (never sent) and write_fields (sent); "
                    "keep it in one"
                )
                problems.append(Problem((*where, "read_only", index), message))
    return problems


def capture_problems(flow: Flow, source: System) -> list[Problem]:
    """A `mode: cdc` flow must read a PostgreSQL system (logical replication)."""
    if flow.mode != "cdc" or source.kind == "postgres":
        return []
    message = (
        f"mode: cdc reads a PostgreSQL table by logical replication; the source "
        f"'{source.name}' is a {source.kind} system: use mode: poll (or realtime, if it sends "
        "webhooks)"
    )
    return [Problem(("flows", flow.name, "mode"), message)]


def unsent_problems(flow: Flow, destination: System) -> list[Problem]:
    """Columns `read_only` leaves out that the destination needs to place the write."""
    needed = needed_columns(flow, destination)
    problems = []
    for index, name in enumerate(flow.read_only):
        column = destination_name(flow, name) or name
        reason = needed.get(column)
        if reason is not None:
            message = (
                f"read_only names '{name}', which {reason}; it is always sent, so remove it "
                "from read_only"
            )
            problems.append(Problem(("flows", flow.name, "read_only", index), message))
    return problems


def workflow_problems(
    workflow: Workflow, flow_names: Collection[str], flows: Mapping[str, Flow]
) -> list[Problem]:
    """Problems with one workflow: unknown flows, flows that do not join up, a flow listed
    twice."""
    where = ("workflows", workflow.name, "flows")
    problems = []
    for index, name in enumerate(workflow.flows):
        if name not in flow_names:
            problems.append(Problem((*where, index), _unknown("flow", name, flow_names)))
    for index, (first, second) in enumerate(zip(workflow.flows, workflow.flows[1:], strict=False)):
        if first in flows and second in flows:
            end, start = flows[first].destination, flows[second].source
            if end != start:
                message = (
                    f"flows '{first}' and '{second}' do not connect: '{first}' ends in "
                    f"'{end}' but '{second}' starts from '{start}'; reorder the workflow or "
                    "fix the flows' source and destination"
                )
                problems.append(Problem((*where, index + 1), message))
    cycle = _cycle_problem(workflow, flows)
    if cycle is not None and cycle.key not in {problem.key for problem in problems}:
        problems.append(cycle)
    return problems


def _cycle_problem(workflow: Workflow, flows: Mapping[str, Flow]) -> Problem | None:
    """The first flow a workflow lists again: it goes round a cycle (`[a, b, a, b]`).

    A workflow is the path one piece of work travels once, so each flow is a step of it at
    most once; counted twice, a flow would weigh twice in the analysis of the workflow. A
    system may be visited twice, by different flows (an onboarding call booked in the project
    tool and tracked back in the core: core -> projects -> core), so only flows are compared.
    """
    steps = workflow.flows
    seen: dict[str, int] = {}
    for index, name in enumerate(steps):
        if name not in seen:
            seen[name] = index
            continue
        before = seen[name]
        loop = steps[before:index]
        if all(step in flows for step in loop):
            systems = [flows[step].source for step in loop] + [flows[name].source]
            way = f"the cycle {' -> '.join(systems)}"
        else:
            way = "a cycle"
        message = (
            f"'{name}' is step {before + 1} of this workflow and step {index + 1} again: the "
            f"workflow goes round {way} instead of ending. A workflow is the path one piece "
            "of work travels once, each flow at most once: end it before the repeat, "
            f"[{', '.join(steps[:index])}]. Records synced both ways between two systems need "
            "no workflow: the two flows are a two-way sync by themselves"
        )
        return Problem(("workflows", workflow.name, "flows", index), message)
    return None


def workspace_problems(workspace: Workspace) -> list[Problem]:
    """Every cross-field problem of a built workspace."""
    systems, flows = workspace.systems, workspace.flows
    problems = core_problems(workspace.core, systems)
    for name, flow in flows.items():
        refs = {"source": flow.source, "destination": flow.destination}
        problems += system_ref_problems(name, refs, systems)
        problems += flow_problems(flow)
        if flow.destination in systems:
            problems += unsent_problems(flow, systems[flow.destination])
        if flow.source in systems:
            problems += capture_problems(flow, systems[flow.source])
    for workflow in workspace.workflows.values():
        problems += workflow_problems(workflow, flows, flows)
    return problems


def _unknown(what: str, name: str, known: Collection[str]) -> str:
    guess = did_you_mean(name, known)
    return f"unknown {what} '{name}'{guess or '.'} The {what}s in this file: {_listed(known)}"


def _listed(names: Iterable[str]) -> str:
    listed = ", ".join(f"'{name}'" for name in names)
    return listed or "(none)"
