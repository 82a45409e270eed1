"""Advice names real settings, as `syncwell check` would accept them, with numbers computed
from the measurements: every template is rendered for every reason and checked against the
workspace schema (issue 13, point 6)."""

from __future__ import annotations

import copy
import math
import re
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Union, get_args, get_origin

import pytest
import typer
import yaml
from pydantic import BaseModel

from syncwell.analyze import FlowFacts, FlowVerdict, Reason, WorkspaceFacts, flow_facts, judge
from syncwell.analyze.advice import flow_advice, flow_evidence
from syncwell.cli import app
from syncwell.errors import WorkspaceError
from syncwell.workspace import Flow, System, Workspace, parse_workspace
from syncwell.workspace.kinds import SETTINGS_BY_KIND

_WORKSPACE = """\
core: core
systems:
  core: {kind: sqlite, path: core.db}
  crm:
    kind: http
    base_url: https://crm.example.com
    rate_limit: {per_second: 5}
    streams:
      contacts:
        read: {path: /v1/contacts, records: results}
        write:
          upsert:
            method: POST
            path: /v1/contacts/batch/upsert
            body: {inputs: "{{records}}"}
            max_batch: 1
  email:
    kind: http
    base_url: https://email.example.com
    rate_limit: {per_second: 10}
    streams:
      members:
        write:
          upsert: {method: PUT, path: "/members/{email}"}
  projects: {kind: sqlite, path: projects.db, rate_limit: {per_second: 2}}
  warehouse: {kind: postgres, dsn: "postgresql://sync@127.0.0.1/warehouse"}
flows:
  to_crm: {source: core, destination: crm, stream: contacts, key: email, cursor: updated_at,
           batch_size: 100}
  to_email: {source: core, destination: email, stream: contacts, target: members, key: email,
             cursor: updated_at, batch_size: 100}
  leads: {source: crm, destination: core, stream: contacts, target: leads, key: email,
          cursor: updated_at, interval: 10m, slo: {freshness: 5m}}
  tasks: {source: projects, destination: core, stream: tasks, key: id, cursor: modified_at,
          interval: 4h, slo: {freshness: 30m}}
  onboarding: {source: core, destination: projects, stream: contacts, target: people,
                key: email, cursor: updated_at, batch_size: 50}
  to_warehouse: {source: core, destination: warehouse, stream: contacts, key: email,
                 cursor: updated_at, batch_size: 1000}
"""
_SETTING = re.compile(r"^(?P<path>[a-z][\w.]*)(?:: (?P<value>.+))?$")
_LOOKS_LIKE_A_KEY = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z_]{2,}(?:\.[a-z_]{2,})+\b")
"""A snake_case name or a dotted path: a setting's key, which must be written in backticks."""


def _document() -> dict[str, object]:
    found = yaml.safe_load(_WORKSPACE)
    assert isinstance(found, dict)
    return found


def _load(document: Mapping[str, object]) -> Workspace:
    return parse_workspace(yaml.safe_dump(dict(document)), "syncwell.yaml", Path("/tmp"), env={})


def _named_in_schema(path: str, document: Mapping[str, object]) -> bool:
    """Whether `path` names a place in syncwell.yaml's schema (the pydantic models of the
    workspace and of each system's connector kind), for this document's systems and flows."""
    top, name, *rest = path.split(".")
    entries = document.get(top)
    if not isinstance(entries, dict) or name not in entries:
        return False
    if top == "flows":
        return _walk(Flow, rest)
    if top != "systems":
        return False
    kind = entries[name]["kind"]
    beside = {"rate_limit", "retry", "breaker", "webhooks"}  # System's own, beside the settings
    if rest and rest[0] in beside:
        return _walk(System, rest)
    return _walk(SETTINGS_BY_KIND[kind], rest)


def _walk(annotation: object, parts: list[str]) -> bool:
    if not parts:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _walk(get_args(annotation)[0], parts)
    if origin in (Union, types.UnionType):
        return any(_walk(arg, parts) for arg in get_args(annotation) if arg is not type(None))
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return _walk(get_args(annotation)[1], parts[1:])  # a name of the mapping's own
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for field_name, info in annotation.model_fields.items():
            if parts[0] in (field_name, info.alias):
                return _walk(info.annotation, parts[1:])
    return False


def _set(document: dict[str, object], path: str, value: object) -> dict[str, object]:
    changed = copy.deepcopy(document)
    node: dict[str, object] = changed
    for part in path.split(".")[:-1]:
        child = node.setdefault(part, {})
        assert isinstance(child, dict), path
        node = child
    node[path.split(".")[-1]] = value
    return changed


def _is_a_command(words: list[str]) -> bool:
    """`syncwell dlq replay --flow x`: the words before the options name a command."""
    command: object = typer.main.get_command(app)
    for word in words[1:]:
        commands = getattr(command, "commands", None)
        if word.startswith("-") or commands is None:
            break
        if word not in commands:
            return False
        command = commands[word]
    return getattr(command, "commands", None) is None


def _problems(advice: str, document: dict[str, object], names: set[str]) -> Iterator[str]:
    """What is wrong with one piece of advice: a setting syncwell check would refuse, a
    place the schema has not, a command that does not exist, or a key named outside
    backticks."""
    spans = re.findall(r"`([^`]+)`", advice)
    for span in spans:
        if span.startswith("syncwell "):
            if not _is_a_command(span.split()):
                yield f"no such command: {span}"
            continue
        found = _SETTING.match(span)
        if found is None:
            yield f"not a setting: {span}"
            continue
        path, value = found["path"], found["value"]
        if not _named_in_schema(path, document):
            yield f"no such setting: {path}"
        elif value is not None:
            try:
                _load(_set(document, path, yaml.safe_load(value)))
            except WorkspaceError as error:
                yield f"{span} is refused: {error}"
    bare = re.sub(r"`[^`]+`", "", advice)
    for word in _LOOKS_LIKE_A_KEY.findall(bare):
        if word not in names:
            yield f"a key outside backticks: {word}"


def _measured(batch: int, *, full: bool, requests_per_change: float) -> dict[str, object]:
    """An hour of a flow whose writes were full batches (or a quarter full), with the
    requests they spent, reads and retries: numbers for every template to use."""
    per_write = batch if full else batch // 4
    batches = 120
    changes = per_write * batches
    return {
        "measured_s": 3600.0,
        "changes_in": changes * 2,
        "changes_out": changes,
        "batches": batches,
        "attempts": batches + 12,
        "retries_transient": 6,
        "retries_timeout": 6,
        "dead_lettered": changes // 10,
        "reads": 360,
        "read_failures": 4,
        "latency_sum_ms": batches * 4000.0,
        "lag_sum_s": batches * 90.0,
        "lag_max_s": 600.0,
        "late": changes // 5,
        "requests": math.ceil(changes * requests_per_change),
        "backlog_max": changes,
        "breaker_open_s": 720.0,
        "busy_s": 3000.0,
        "out_busy": changes,
    }


def _verdict(facts: FlowFacts, reason: Reason | None) -> FlowVerdict:
    """A verdict on `facts` for `reason`: demand twice what the flow took, and the rate
    limit it needs as it stands (the flow alone on its systems)."""
    demand = facts.changes_in / 60
    budget = facts.destination_rate_per_s or facts.source_rate_per_s
    need = facts.requests / facts.changes_out * demand / 60
    return FlowVerdict(
        flow=facts.name,
        integration=facts.integration,
        demand_per_min=demand,
        capacity_per_min=demand / 2,
        capacity_bound="observed",
        utilisation=2.0,
        budget_use=None if budget is None else need / budget,
        freshness_floor_s=facts.interval_s,
        late_share=0.2,
        failure_share=0.1,
        retry_share=0.1,
        downtime_share=0.2,
        burn=20.0,
        severity=20.0,
        reason=reason,
        evidence="",
    )


def _every_advice() -> Iterator[tuple[str, str]]:
    """Each flow of the workspace, with full and partial writes, each costing a request a
    change or a request a write, under every reason: (what, the advice or evidence)."""
    workspace = _load(_document())
    for flow in workspace.flows.values():
        for full in (True, False):
            for per_change in (1.0, 1 / flow.batch_size):
                row = _measured(flow.batch_size, full=full, requests_per_change=per_change)
                facts = flow_facts(workspace, flow, row, ("email", "email is not valid"))
                for reason in (*Reason, None):
                    verdict = _verdict(facts, reason)
                    what = f"{flow.name} {reason} full={full} per_change={per_change:g}"
                    yield what, flow_evidence(verdict, facts)
                    for advice in flow_advice(verdict, facts):
                        yield what, advice


def test_the_schema_walk_knows_max_batch_and_no_write_bulk() -> None:
    """The check itself: a bulk endpoint's max_batch, a flow's batch_size and a system's
    rate limit are settings; `write.bulk` and a misspelt key are not."""
    document = _document()
    assert _named_in_schema("systems.crm.streams.contacts.write.upsert.max_batch", document)
    assert _named_in_schema("systems.crm.streams.contacts.write.upsert", document)
    assert _named_in_schema("systems.crm.rate_limit.per_second", document)
    assert _named_in_schema("systems.crm.timeout_s", document)
    assert _named_in_schema("systems.warehouse.statement_timeout_s", document)
    assert _named_in_schema("flows.to_crm.batch_size", document)
    assert not _named_in_schema("systems.crm.streams.contacts.write.bulk", document)
    assert not _named_in_schema("systems.crm.write.bulk", document)
    assert not _named_in_schema("flows.to_crm.batchsize", document)
    assert not _named_in_schema("systems.core.timeout_s", document)  # sqlite: busy_timeout_s
    problems = list(
        _problems("a bulk endpoint (write.bulk) would cut that", document, set())
    )  # the advice of issue 13
    assert problems == ["a key outside backticks: write.bulk"]


def test_every_piece_of_advice_names_settings_check_accepts() -> None:
    """Every template, for every reason, every flow and the shapes of their writes, names
    each setting by its path in backticks, and each with its value loads, as `syncwell
    check` would load it; commands exist; no key appears outside backticks."""
    document = _document()
    names = {
        *document["flows"],  # type: ignore[misc]
        *document["systems"],  # type: ignore[misc]
        "email",
        "updated_at",
        "modified_at",
    }
    rendered = list(_every_advice())
    problems = [
        f"{what}: {problem}\n    {text}"
        for what, text in rendered
        for problem in _problems(text, document, names)
    ]
    assert not problems, "\n".join(problems)
    settings = {span for _, text in rendered for span in re.findall(r"`([^`]+: [^`]+)`", text)}
    # The settings advice changes, each seen at least once.
    for wanted in (
        "systems.crm.streams.contacts.write.upsert.max_batch",
        "systems.email.streams.members.write.upsert.max_batch",
        "systems.crm.rate_limit.per_second",
        "flows.onboarding.batch_size",
        "flows.to_warehouse.batch_size",
        "systems.warehouse.statement_timeout_s",
        "systems.email.timeout_s",
        "flows.tasks.interval",
        "flows.tasks.mode",
    ):
        assert any(span.startswith(f"{wanted}: ") for span in settings), wanted


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_gets_advice(reason: Reason) -> None:
    """No reason a flow can break its SLO for goes without something to do."""
    workspace = _load(_document())
    flow = workspace.flows["to_crm"]
    row = _measured(flow.batch_size, full=True, requests_per_change=1.0)
    facts = flow_facts(workspace, flow, row, ("email", "email is not valid"))
    assert flow_advice(_verdict(facts, reason), facts)


def _judged(flow: str, row: Mapping[str, object]) -> FlowVerdict:
    workspace = _load(_document())
    facts = {
        name: flow_facts(workspace, f, row if name == flow else {"measured_s": 600.0})
        for name, f in workspace.flows.items()
    }
    analysis = judge(WorkspaceFacts(workspace, 600.0, 1_800_000_000.0, facts))
    return next(v for v in analysis.flows if v.flow == flow)


def test_a_bulk_endpoint_one_record_a_request_is_told_its_max_batch() -> None:
    """Signups reach the CRM at 9/s; its budget is 5 requests/s and its bulk endpoint takes
    one record a request (max_batch 1), so the flow writes 5/s, full batches of 100 in 100
    requests each. The advice asks for ceil(9 * 1.25) = 12 requests/s, from the requests
    each write took, and names max_batch: 3 records a request fit 9/s in 5 requests/s with
    a quarter to spare (before: "a bulk endpoint (write.bulk)", and no max_batch)."""
    row = {
        "measured_s": 600.0,
        "changes_in": 5400,
        "changes_out": 3000,
        "batches": 30,
        "attempts": 30,
        "requests": 3000,
        "latency_sum_ms": 30 * 20_000.0,
        "busy_s": 600.0,
        "out_busy": 3000,
        "backlog_max": 2400,
        "reads": 600,
    }
    verdict = _judged("to_crm", row)
    assert verdict.reason is Reason.RATE_LIMIT, verdict
    first, size = verdict.advice[:2]
    assert "100 a write and 100 requests each, it needs 9.0 requests/s" in first, first
    assert first.endswith("ask crm for at least 12/s, then set "
                          "`systems.crm.rate_limit.per_second: 12`"), first  # fmt: skip
    assert "set `systems.crm.streams.contacts.write.upsert.max_batch: 3`" in size, size


def test_a_database_written_one_request_a_write_is_told_its_batch_size() -> None:
    """A rate-limited database destination takes a write as one request: 50 changes a write
    at 2 writes/s is 100/s, against 200/s of demand: batch_size ceil(200 * 1.25 / 2) = 125."""
    row = {
        "measured_s": 600.0,
        "changes_in": 120_000,
        "changes_out": 60_000,
        "batches": 1200,
        "attempts": 1200,
        "requests": 1200,
        "latency_sum_ms": 1200 * 500.0,
        "busy_s": 600.0,
        "out_busy": 60_000,
        "backlog_max": 60_000,
    }
    verdict = _judged("onboarding", row)
    assert verdict.reason is Reason.RATE_LIMIT, verdict
    assert "50 a write and 1.0 requests each, it needs 4.0 requests/s" in verdict.advice[0]
    assert "set `flows.onboarding.batch_size: 125`" in verdict.advice[1], verdict.advice
