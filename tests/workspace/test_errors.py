"""Malformed workspace files: every mistake is reported with its line, key and a fix."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import NamedTuple

import pytest

from syncwell.errors import WorkspaceError
from syncwell.workspace import WorkspaceProblems, load_workspace, parse_workspace

from .conftest import Problems

# Two systems every flow case can use; cases append their own lines after these three.
SYSTEMS = """\
systems:
  app: {kind: sqlite, path: app.db}
  crm: {kind: sqlite, path: crm.db}
"""


def flow(*lines: str) -> str:
    """SYSTEMS, then a flow `contacts` (line 5) whose fields start on line 6."""
    body = "".join(f"    {line}\n" for line in lines)
    return f"{SYSTEMS}flows:\n  contacts:\n{body}"


GOOD_FLOW = ("source: crm", "destination: app", "stream: contacts", "key: id", "cursor: u")


class Case(NamedTuple):
    text: str
    line: int
    key: str
    hint: str


CASES = {
    "unknown field": Case(
        flow(*GOOD_FLOW, "intervall: 30s"),
        11,
        "flows.contacts.intervall",
        "did you mean 'interval'?",
    ),
    "unknown system": Case(
        flow("source: crn", *GOOD_FLOW[1:]),
        6,
        "flows.contacts.source",
        "unknown system 'crn'; did you mean 'crm'? The systems in this file: 'app', 'crm'",
    ),
    "unknown kind": Case(
        "systems:\n  app:\n    kind: postgress\n    dsn: x\n",
        3,
        "systems.app.kind",
        "did you mean 'postgres'? Supported kinds: postgres, sqlite",
    ),
    "bad duration": Case(
        flow(*GOOD_FLOW, "interval: 5 minutes"),
        11,
        "flows.contacts.interval",
        "accepted forms: 500ms, 30s, 5m",
    ),
    "zero interval": Case(
        flow(*GOOD_FLOW, "interval: 0s"), 11, "flows.contacts.interval", "must be longer than zero"
    ),
    "negative lookback": Case(
        flow(*GOOD_FLOW, "lookback: -5"), 11, "flows.contacts.lookback", "cannot be negative"
    ),
    "yaml syntax": Case(f"{SYSTEMS}flows:\n  contacts: [a, b\n", 6, "", "error at column"),
    "missing key": Case(
        flow(*GOOD_FLOW[:3], "cursor: u"), 5, "flows.contacts.key", "'key' is required; add it"
    ),
    "missing kind": Case(
        "systems:\n  app:\n    path: app.db\n",
        2,
        "systems.app.kind",
        "supported kinds: postgres, sqlite",
    ),
    "missing settings field": Case(
        "systems:\n  app: {kind: sqlite}\n", 2, "systems.app.path", "'path' is required"
    ),
    "unknown settings field": Case(
        "systems:\n  app:\n    kind: sqlite\n    path: a\n    rate_limt: {per_second: 1}\n",
        5,
        "systems.app.rate_limt",
        "did you mean 'rate_limit'?",
    ),
    "source is destination": Case(
        flow("source: app", *GOOD_FLOW[1:]), 7, "flows.contacts.destination", "both 'app'"
    ),
    "fields without key": Case(
        flow(*GOOD_FLOW, "fields: [email, u]"),
        11,
        "flows.contacts.fields",
        "fields leaves out 'id'",
    ),
    "bad mode": Case(
        flow(*GOOD_FLOW, "mode: fast"),
        11,
        "flows.contacts.mode",
        "'fast' is not allowed here; use 'realtime', 'poll', 'batch', 'manual' or 'cdc'",
    ),
    "batch too large": Case(
        flow(*GOOD_FLOW, "batch_size: 100001"),
        11,
        "flows.contacts.batch_size",
        "must be at most 100000",
    ),
    "slo rate above one": Case(
        flow(*GOOD_FLOW, "slo:", "  success_rate: 1.5"),
        12,
        "flows.contacts.slo.success_rate",
        "must be at most 1",
    ),
    "unknown slo field": Case(
        flow(*GOOD_FLOW, "slo: {freshnes: 5m}"),
        11,
        "flows.contacts.slo.freshnes",
        "did you mean 'freshness'?",
    ),
    "key item not text": Case(
        flow(*GOOD_FLOW[:3], "key:", "  - id", "  - [org]", "cursor: u"),
        11,
        "flows.contacts.key[1]",
        "expected text",
    ),
    "workflow unknown flow": Case(
        flow(*GOOD_FLOW) + "workflows:\n  w: {flows: [contacts, dealz]}",
        12,
        "workflows.w.flows[1]",
        "unknown flow 'dealz'",
    ),
    "workflow shorthand unknown flow": Case(
        flow(*GOOD_FLOW) + "workflows:\n  w:\n    - contact\n",
        13,
        "workflows.w[0]",
        "did you mean 'contacts'?",
    ),
    "workflow without flows": Case(
        flow(*GOOD_FLOW) + "workflows:\n  w: {description: x}\n",
        12,
        "workflows.w.flows",
        "'flows' is required",
    ),
    "workflow not a list": Case(
        flow(*GOOD_FLOW) + "workflows:\n  w: 5\n",
        12,
        "workflows.w",
        "a workflow is a list of flow names",
    ),
    "tab indent": Case("systems:\n\tapp: {kind: sqlite, path: a}\n", 2, "", "replace the tab"),
    "empty file": Case("# nothing yet\n", 1, "", "the workspace file is empty"),
    "top level list": Case("- systems\n- flows\n", 1, "", "top level must be a mapping"),
    "unknown section": Case(f"{SYSTEMS}flow:\n  a: {{}}\n", 4, "flow", "did you mean 'flows'?"),
    "missing systems": Case("name: demo\n", 1, "systems", "no `systems:` section"),
    "empty systems": Case("systems: {}\n", 1, "systems", "at least one system"),
    "unset variable": Case(
        "systems:\n  app:\n    kind: postgres\n    dsn: postgresql://${PGUSER}@h/db\n",
        4,
        "systems.app.dsn",
        "'PGUSER' is not set; export it",
    ),
    "duplicate key": Case(
        f"{SYSTEMS}  app: {{kind: sqlite, path: b.db}}\n",
        4,
        "systems.app",
        "duplicate key 'app' (first on line 2)",
    ),
    "version": Case(f"version: 2\n{SYSTEMS}", 1, "version", "write `version: 1`"),
    "unknown core": Case(f"core: ap\n{SYSTEMS}", 1, "core", "did you mean 'app'?"),
    "bad state": Case(f"state: mysql://db\n{SYSTEMS}", 1, "state", "sqlite:///.syncwell/state.db"),
    "retry cap below base": Case(
        "systems:\n  app:\n    kind: sqlite\n    path: a\n    retry: {base_s: 5, cap_s: 1}\n",
        5,
        "systems.app.retry",
        "must be at least base_s",
    ),
    "bad default policy": Case(
        f"defaults:\n  breaker: {{open_s: 0}}\n{SYSTEMS}",
        2,
        "defaults.breaker.open_s",
        "must be more than 0",
    ),
    "bad name": Case(
        "systems:\n  my crm: {kind: sqlite, path: a}\n",
        2,
        "systems.my crm",
        "must start with a letter",
    ),
    "transport on a store others cannot share": Case(
        f"name: shop\n{SYSTEMS}transport: {{url: 'nats://127.0.0.1:4222'}}\n",
        5,
        "transport",
        "set `state: postgresql://user@host/db`",
    ),
    "transport without a name": Case(
        f"state: postgresql://sync@db/state\n{SYSTEMS}transport: {{}}\n",
        5,
        "transport",
        "a transport needs an explicit `name:`",
    ),
    "transport that is not nats": Case(
        "name: shop\nstate: postgresql://sync@db/state\n"
        f"{SYSTEMS}transport: {{url: 'amqp://127.0.0.1'}}\n",
        6,
        "transport.url",
        "nats://",
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_mistake_names_line_key_and_fix(case: Case, problems: Problems) -> None:
    """A malformed file fails with its mistake's exact line, dotted key and a hint to fix it."""
    found = problems(case.text)
    assert len(found) == 1, "\n".join(map(str, found))
    (problem,) = found
    assert (problem.line, problem.key) == (case.line, case.key)
    assert case.hint in problem.message
    assert "Input should" not in problem.message  # pydantic's wording never reaches people


def test_workflow_flows_that_do_not_connect(problems: Problems) -> None:
    """A workflow whose flow ends where the next does not start names both flows."""
    text = flow(*GOOD_FLOW) + (
        "  back: {source: app, destination: crm, stream: s, key: id, cursor: u}\n"
        "workflows:\n"
        "  w: [contacts, contacts, back]\n"
    )
    (problem,) = problems(text)
    assert (problem.line, problem.key) == (13, "workflows.w[1]")
    assert "flows 'contacts' and 'contacts' do not connect" in problem.message


def test_all_problems_are_reported_in_line_order(problems: Problems) -> None:
    """One error lists every problem, in file order, one `path:line: [key] message` per line."""
    text = (
        "systems:\n"
        "  app: {kind: sqlite, path: app.db}\n"
        "  crm: {kind: sqlit, path: crm.db}\n"
        "flows:\n"
        "  a: {source: crm, destination: app, stream: s, key: id, cursor: u, interval: 0}\n"
        "  b: {source: app, destination: nope, stream: s, key: id, cursor: u, modee: poll}\n"
    )
    found = problems(text)
    assert [(p.line, p.key) for p in found] == [
        (3, "systems.crm.kind"),
        (5, "flows.a.interval"),
        (6, "flows.b.destination"),
        (6, "flows.b.modee"),
    ]


def test_the_error_carries_the_first_problem_and_lists_all(tmp_path: Path) -> None:
    """WorkspaceProblems is a WorkspaceError located at the first problem whose text lists all."""
    text = "version: 3\nsystems:\n  a: {kind: sqlite}\n"
    with pytest.raises(WorkspaceError) as caught:
        parse_workspace(text, "ws/syncwell.yaml", tmp_path, env={})
    error = caught.value
    assert isinstance(error, WorkspaceProblems)
    assert (error.path, error.line, error.key) == ("ws/syncwell.yaml", 1, "version")
    assert str(error).splitlines() == [
        "ws/syncwell.yaml:1: [version] unknown version 3; this syncwell reads version 1: "
        "write `version: 1`",
        "ws/syncwell.yaml:3: [systems.a.path] 'path' is required; add it: the database file, "
        "e.g. `path: crm.db` (relative to the workspace folder)",
    ]


def test_problems_pickle(problems: Problems) -> None:
    """WorkspaceProblems and its problems survive pickling with every field intact."""
    with pytest.raises(WorkspaceProblems) as caught:
        parse_workspace("version: 3\nsystems: []\n", "syncwell.yaml", env={})
    error = caught.value
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is WorkspaceProblems
    assert str(copy) == str(error)
    assert (copy.path, copy.line, copy.key) == (error.path, error.line, error.key)
    assert [(p.message, p.line, p.key) for p in copy.problems] == [
        (p.message, p.line, p.key) for p in error.problems
    ]


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    """A missing workspace file is a WorkspaceError naming the path and the check command."""
    missing = tmp_path / "nope.yaml"
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(missing)
    assert caught.value.path == str(missing)
    assert "syncwell check -w path/to/syncwell.yaml" in str(caught.value)


def test_bad_file_on_disk_reports_its_path(tmp_path: Path) -> None:
    """Errors from load_workspace carry the path as the caller wrote it."""
    file = tmp_path / "syncwell.yaml"
    file.write_text("systems:\n  a: {kind: sqlite, path: a, busy_timeout_s: soon}\n")
    with pytest.raises(WorkspaceProblems) as caught:
        load_workspace(file, env={})
    assert str(caught.value).startswith(f"{file}:2: [systems.a.busy_timeout_s] expected a number")


def test_empty_problem_list_is_a_bug() -> None:
    """WorkspaceProblems refuses to be raised with nothing to report."""
    with pytest.raises(ValueError, match="at least one"):
        WorkspaceProblems([])
