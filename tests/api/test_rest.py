"""The REST API under /api/v1: every route by role, what it answers and how its OpenAPI
document describes that, on a workspace a real run left a dead letter in."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import sqlite3
from pathlib import Path
from typing import Any, get_type_hints

import httpx
import pydantic
import pytest

from syncwell import Engine, analyze, load_workspace, store
from syncwell.analyze import analysis_dict, kept_report, tickets
from syncwell.api import create_app, models
from syncwell.api.auth import SESSION_COOKIE, csrf_token
from syncwell.api.health import SystemHealth
from syncwell.map import document
from syncwell.store import ROLES, open_store
from syncwell.store.schema import measurements
from syncwell.workspace import Workspace
from tests.asgi import serving
from tests.conftest import fresh_state_database

ROUTES = [
    ("GET", "/api/v1/workspace", "viewer"),
    ("GET", "/api/v1/systems", "viewer"),
    ("GET", "/api/v1/flows", "viewer"),
    ("GET", "/api/v1/measurements", "viewer"),
    ("GET", "/api/v1/incidents", "viewer"),
    ("GET", "/api/v1/dead-letters", "viewer"),
    ("GET", "/api/v1/dead-letters/1", "viewer"),
    ("GET", "/api/v1/constraint/history", "viewer"),
    ("POST", "/api/v1/constraint", "operator"),
    ("GET", "/api/v1/constraint", "viewer"),
    ("POST", "/api/v1/dead-letters/1/discard", "operator"),
]


OPERATIONS: dict[tuple[str, str], tuple[type[pydantic.BaseModel] | Any, set[str]]] = {
    ("get", "/api/v1/workspace"): (models.WorkspaceMap, set()),
    ("get", "/api/v1/systems"): (list[models.System], set()),
    ("get", "/api/v1/flows"): (list[models.FlowReport], set()),
    ("get", "/api/v1/measurements"): (list[models.MeasurementMinute], {"422"}),
    ("get", "/api/v1/incidents"): (list[models.Incident], {"422"}),
    ("get", "/api/v1/tickets"): (list[models.TicketCounts], {"422"}),
    ("get", "/api/v1/dead-letters"): (list[models.DeadLetter], {"422"}),
    ("get", "/api/v1/dead-letters/{dead_letter_id}"): (models.DeadLetter, {"404", "422"}),
    ("post", "/api/v1/dead-letters/{dead_letter_id}/replay"): (models.Resolution, {"409", "422"}),
    ("post", "/api/v1/dead-letters/{dead_letter_id}/discard"): (models.Resolution, {"409", "422"}),
    ("get", "/api/v1/constraint"): (models.KeptAnalysis, {"404"}),
    ("post", "/api/v1/constraint"): (models.Analysis, {"422"}),
    ("get", "/api/v1/constraint/history"): (list[models.ConstraintMove], set()),
}
"""Each operation: the model of its 200 answer, and the errors it names besides 401 and 403."""


def _write_workspace(root: Path, state: str | None = None) -> Path:
    """Two SQLite systems and one flow polled every 20 minutes against a 5-minute SLO; the
    destination refuses the row whose value is 'bad', so a run leaves one dead letter. The
    state store is SQLite in `root` unless `state` names another."""
    with sqlite3.connect(root / "a.db") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            [(i, f"2026-01-01 00:00:{i:02d}", "bad" if i == 3 else "ok") for i in range(10)],
        )
    with sqlite3.connect(root / "b.db") as db:
        db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL, v TEXT CHECK (v != 'bad'))"
        )
    (root / "syncwell.yaml").write_text(
        (f"state: {state}\n" if state else "")
        + "core: a\nsystems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at, lookback: 0s,"
        " interval: 20m, slo: {freshness: 5m}}\n"
    )
    return root / "syncwell.yaml"


@pytest.fixture
async def workspace(tmp_path: Path) -> Workspace:
    """The workspace of `_write_workspace`, after one run."""
    loaded = load_workspace(_write_workspace(tmp_path))
    await Engine(loaded).run(once=True)
    return loaded


async def _tokens(workspace: Workspace) -> dict[str, dict[str, str]]:
    store = await open_store(workspace.state)
    try:
        made = {role: (await store.tokens.create(role))[1] for role in ROLES}
    finally:
        await store.close()
    return {role: {"authorization": f"Bearer {text}"} for role, text in made.items()}


async def test_every_route_by_role(workspace: Workspace, client: httpx.AsyncClient) -> None:
    """Each route without a token gets 401; a role below the route's gets 403; at or above
    it, the route answers (2xx, or 404/409 where the thing asked for is not there)."""
    headers = await _tokens(workspace)
    for method, path, needed in ROUTES:
        assert (await client.request(method, path)).status_code == 401, path
        for role in ROLES:
            answer = await client.request(method, path, headers=headers[role])
            if ROLES.index(role) < ROLES.index(needed):
                assert answer.status_code == 403, (path, role)
            else:
                assert answer.status_code in {200, 404, 409}, (path, role, answer.text)


async def test_a_viewer_reads_and_an_operator_replays(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A viewer sees the flow, the refused record and, after an operator's analysis, the
    constraint, also in the systems' health; the viewer cannot replay, the operator can,
    once."""
    headers = await _tokens(workspace)
    viewer, operator = headers["viewer"], headers["operator"]
    (flow,) = (await client.get("/api/v1/flows", headers=viewer)).json()
    assert flow["flow"] == "f"
    (letter,) = (await client.get("/api/v1/dead-letters", headers=viewer)).json()
    assert letter["data"]["v"] == "bad" and "CHECK" in letter["reason"]
    assert (await client.get("/api/v1/constraint", headers=viewer)).status_code == 404
    made = await client.post("/api/v1/constraint", headers=operator)
    assert made.json()["constraint"]["reason"] == "poison"  # 1 refused of 10: past 1%
    kept = (await client.get("/api/v1/constraint", headers=viewer)).json()
    assert kept["constraint"]["integration"] == "b" and kept["breaching"] == ["f"]
    systems = {s["name"]: s for s in (await client.get("/api/v1/systems", headers=viewer)).json()}
    assert systems["a"]["core"] and systems["a"]["judged"] and systems["a"]["flows"] == ["f"]
    assert systems["b"]["constraint"] and systems["b"]["reason"] == "poison"
    assert systems["b"]["open_dead_letters"] == 1 and systems["b"]["kind"] == "sqlite"
    replay = f"/api/v1/dead-letters/{letter['id']}/replay"
    assert (await client.post(replay, headers=viewer)).status_code == 403
    assert (await client.post(replay, headers=operator)).json()["status"] == "replayed"
    assert (await client.post(replay, headers=operator)).status_code == 409
    replayed = await client.get("/api/v1/dead-letters?status=replayed", headers=viewer)
    assert [d["id"] for d in replayed.json()] == [letter["id"]]


async def test_every_answer_is_nosniff_and_not_stored(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """JSON answers, errors, health, the login page and webhooks each carry `nosniff` and
    `no-store` (none did but the dashboard's pages), so a browser never reads them as a page
    nor keeps them in a cache."""
    viewer = (await _tokens(workspace))["viewer"]
    answers = [
        await client.get("/api/v1/flows", headers=viewer),
        await client.get("/api/v1/flows"),
        await client.get("/healthz"),
        await client.get("/login"),
        await client.post("/hooks/crm", content=b"{}"),
    ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["cache-control"] == "no-store", answer.request.url


async def test_webhooks_wait_for_an_engine_and_health_needs_no_token(
    client: httpx.AsyncClient,
) -> None:
    """`syncwell serve` has no engine: a webhook gets 503 saying where to send it; health
    and the OpenAPI document answer without a token."""
    hooked = await client.post("/hooks/crm", content=b"{}")
    assert hooked.status_code == 503 and "syncwell run" in hooked.text
    assert (await client.get("/healthz")).status_code == 200
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
    assert {"/api/v1/flows", "/api/v1/dead-letters/{dead_letter_id}/replay"} <= set(paths)


async def test_login_sets_a_strict_cookie_that_reads_but_writes_only_with_csrf(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A wrong token gets the form back with 401; a right one sets an HttpOnly, Secure,
    SameSite=Strict cookie. The cookie reads routes, but a replay with it alone gets 403 until
    it carries the session's CSRF token; logging out clears the cookie."""
    operator = (await _tokens(workspace))["operator"]["authorization"].removeprefix("Bearer ")
    wrong = await client.post("/login", data={"token": "swt_9_nope"})
    assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
    logged = await client.post("/login", data={"token": operator})
    assert logged.status_code == 303
    cookie = logged.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Max-Age=604800"):
        assert flag.lower() in cookie.lower(), cookie
    client.cookies.clear()  # the test says which cookie each request carries
    secret = logged.cookies[SESSION_COOKIE]
    # A token is swt_<id>_<secret>, and the secret's own text may hold "_" (base64url):
    # the whole secret must not be in the cookie (its last "_" piece can be one letter).
    assert operator not in secret and operator.split("_", 2)[2] not in secret
    session = {"cookie": f"{SESSION_COOKIE}={secret}"}
    assert (await client.get("/api/v1/flows", headers=session)).status_code == 200
    (letter,) = (await client.get("/api/v1/dead-letters", headers=session)).json()
    replay = f"/api/v1/dead-letters/{letter['id']}/replay"
    refused = await client.post(replay, headers=session)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    forged = await client.post(replay, headers={**session, "x-csrf-token": "0" * 32})
    assert forged.status_code == 403
    csrf = {**session, "x-csrf-token": csrf_token(secret)}
    assert (await client.post(replay, headers=csrf)).json()["status"] == "replayed"
    out = await client.post("/logout", headers=session)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]


async def test_the_openapi_document_names_each_answer_and_its_errors(
    client: httpx.AsyncClient,
) -> None:
    """Every /api/v1 operation's 200 answer is a named schema (or a list of one), and it lists
    exactly 401 and 403 plus its own errors (404 for one thing, 409 for replay and discard,
    422 for parameters), each with a described body."""
    document = (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    found = {
        (method, path): operation["responses"]
        for path, operations in document["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in operations.items()
    }
    assert set(found) == set(OPERATIONS)
    for key, responses in found.items():
        assert set(responses) == {"200", "401", "403"} | OPERATIONS[key][1], key
        answer = responses["200"]["content"]["application/json"]["schema"]
        named = answer["items"]["$ref"] if answer.get("type") == "array" else answer["$ref"]
        assert schemas[named.rsplit("/", 1)[1]]["properties"], key
        for code in set(responses) - {"200"}:
            body = "ValidationErrorBody" if code == "422" else "ErrorBody"
            assert responses[code]["description"] and responses[code]["content"] == {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}
            }, (key, code)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_real_answers_parse_as_their_models(tmp_path: Path, backend: str) -> None:
    """On SQLite and on PostgreSQL state, each route's real 200 answer, as sent in JSON,
    parses as the model its OpenAPI document names."""
    async with contextlib.AsyncExitStack() as stack:
        state = None
        if backend == "postgresql":
            state = await stack.enter_async_context(fresh_state_database())
        loaded = load_workspace(_write_workspace(tmp_path, state))
        await Engine(loaded).run(once=True)
        operator = (await _tokens(loaded))["operator"]
        app = create_app(workspace=loaded)
        client = await stack.enter_async_context(serving(app, headers=operator))
        answers = {("post", "/api/v1/constraint"): await client.post("/api/v1/constraint")}
        for method, path in OPERATIONS:
            if method == "get":
                answers[method, path] = await client.get(path.format(dead_letter_id=1))
        replay = "/api/v1/dead-letters/{dead_letter_id}/replay"
        answers["post", replay] = await client.post(replay.format(dead_letter_id=1))
    assert [key for key, answer in answers.items() if answer.status_code != 200] == []
    for key, answer in answers.items():
        pydantic.TypeAdapter(OPERATIONS[key][0]).validate_json(answer.content)
    minutes = answers["get", "/api/v1/measurements"].json()  # two if the run spans a minute
    assert sum(minute["dead_lettered"] for minute in minutes) == 1
    assert all(minute["headroom_min"] is None for minute in minutes)


def test_each_model_names_the_keys_the_route_builds() -> None:
    """Each model's fields are exactly the keys of the value its route returns (dataclass
    fields, TypedDict keys, table columns), so a key added to one side alone fails here
    rather than as a 500 or an undocumented key."""
    pairs: list[tuple[type[pydantic.BaseModel], set[str]]] = [
        (models.WorkspaceMap, set(get_type_hints(document.MapDocument))),
        (models.MapSystem, set(get_type_hints(document.SystemEntry))),
        (models.MapSlo, set(get_type_hints(document.SloEntry))),
        (models.MapFlow, set(get_type_hints(document.FlowEntry))),
        (models.MapWorkflow, set(get_type_hints(document.WorkflowEntry))),
        (models.FlowReport, _fields(store.FlowReport)),
        (models.FlowVerification, _fields(store.FlowVerification)),
        (models.FieldDrift, _fields(store.FieldDrift)),
        (models.System, _fields(SystemHealth)),
        (models.MeasurementMinute, {column.name for column in measurements.columns}),
        (models.Incident, _fields(store.Incident) | {"resolve_s"}),
        (models.DeadLetter, _fields(store.DeadLetter) - {"batch"} | {"data"}),
        (models.Forecast, _fields(analyze.Forecast)),
        (models.IntegrationVerdict, _fields(analyze.IntegrationVerdict)),
        (models.FlowVerdict, _fields(analyze.FlowVerdict)),
        (models.WorkflowLimit, _fields(analyze.WorkflowLimit)),
        (models.Analysis, _fields(analyze.Analysis)),
        (models.TicketEvidence, _fields(tickets.TicketEvidence)),
        (models.TicketCounts, _fields(tickets.TicketCounts)),
        (models.TicketDisagreement, _fields(tickets.TicketDisagreement)),
        (models.ConstraintMove, _fields(analyze.Move)),
    ]
    for model, keys in pairs:
        assert set(model.model_fields) == keys, model.__name__


def test_an_infinite_utilisation_is_a_null_in_both_constraint_answers() -> None:
    """A tool that took nothing while work waited (infinite utilisation, so infinite
    severity) parses as a fresh analysis and as a kept one, its infinities null."""
    flow = analyze.FlowVerdict(
        flow="f",
        integration="b",
        demand_per_min=60.0,
        capacity_per_min=0.0,
        capacity_bound="observed",
        utilisation=math.inf,
        budget_use=None,
        freshness_floor_s=None,
        late_share=0.0,
        failure_share=0.0,
        retry_share=0.0,
        downtime_share=0.0,
        burn=0.0,
        severity=math.inf,
        reason=analyze.Reason.CAPACITY,
        evidence="b took nothing while work waited",
    )
    verdict = analyze.IntegrationVerdict(
        integration="b",
        severity=math.inf,
        reason=analyze.Reason.CAPACITY,
        flow="f",
        evidence=flow.evidence,
        advice=(),
        utilisation=math.inf,
        budget_use=None,
        incidents=0,
        mean_resolve_s=None,
        incident_open_s=0.0,
        workflows=1,
    )
    found = analyze.Analysis(1.0, 60.0, verdict, (verdict,), (flow,), (), "constraint: b")
    fresh = models.Analysis.model_validate(analysis_dict(found))
    kept = models.KeptAnalysis.model_validate(
        {"id": 1, "at": 1.0, "window_s": 60.0, **json.loads(kept_report(found))}
    )
    assert fresh.flows[0].utilisation is None and fresh.flows[0].severity is None
    assert kept.constraint is not None and kept.constraint.utilisation is None
    assert kept.ranking[0].severity is None and kept.breaching == ["f"]


def _fields(kind: type) -> set[str]:
    return {field.name for field in dataclasses.fields(kind)}


async def test_an_analysis_kept_by_an_older_version_still_answers(
    workspace: Workspace, client: httpx.AsyncClient
) -> None:
    """A kept report with a key this version no longer has, and without ones it added since,
    is answered (the unknown key left out, the missing ones at their defaults), not a 500."""
    older = json.dumps(
        {
            "summary": "no constraint",
            "constraint": None,
            "ranking": [{"integration": "b", "reason": None, "flow": "f", "severity": 0.2}],
            "dropped_since": {"anything": 1},
        }
    )
    opened = await open_store(workspace.state)
    try:
        await opened.analyses.add(
            store.StoredAnalysis(0, 1.0, 86400.0, None, None, None, "", older)
        )
    finally:
        await opened.close()
    viewer = (await _tokens(workspace))["viewer"]
    answer = await client.get("/api/v1/constraint", headers=viewer)
    assert answer.status_code == 200, answer.text
    assert "dropped_since" not in answer.json() and answer.json()["breaching"] == []
