"""`/metrics`: Prometheus exposition with syncwell_* names and workspace/integration/flow labels."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from syncwell.measure import FlowSample
from syncwell.measure.prometheus import SyncwellCollector
from syncwell.store import open_store
from tests.api.hookkit import event, running_engine
from tests.waiting import until


async def test_metrics_count_what_webhooks_brought_and_what_was_written(tmp_path: Path) -> None:
    """After three webhooks are delivered, the counters say so, labelled by flow; reading
    them needs a viewer's token, like every route but webhooks and health."""
    async with running_engine(tmp_path) as run:
        for number in range(3):
            await run.send(f"evt_{number}", event(f"evt_{number}", f"m{number}@x.io", number))
        await until(lambda: run.engine.progress["contacts"].written >= 3, within_s=10)
        assert (await run.client.get("/metrics")).status_code == 401
        store = await open_store(run.engine.workspace.state)
        try:
            _, viewer = await store.tokens.create("viewer", "prometheus")
        finally:
            await store.close()
        answer = await run.client.get("/metrics", headers={"authorization": f"Bearer {viewer}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    webhook = families["syncwell_webhook_changes"].samples[0]
    assert webhook.labels == {"workspace": "hooks", "integration": "crm", "flow": "contacts"}
    assert webhook.value == 3
    written = families["syncwell_changes_written"].samples[0]
    assert written.value >= 3
    assert families["syncwell_breaker_open"].samples[0].value == 0
    assert all(name.startswith("syncwell_") for name in families)
    retries = {s.labels["class"]: s.value for s in families["syncwell_retries"].samples}
    assert retries == {"transient": 0, "rate_limited": 0, "timeout": 0}
    assert families["syncwell_dead_letters_open"].samples[0].value == 0


def test_retries_are_split_by_class_and_the_dead_letter_depth_is_a_gauge() -> None:
    """7 retries of which 2 were 429s and 1 a timeout: 4 transient; 5 dead letters open."""
    sample = FlowSample(
        flow="f", integration="crm", read=0, settled=0, written=0, dead_lettered=5,
        retries=7, retries_rate_limited=2, retries_timeout=1, failed_attempts=7,
        webhook_changes=0, echoes=0, stale=0, missed_by_webhooks=0, backlog=0,
        dead_letters_open=5, last_read_at=None, breaker_open=False, headroom=None,
    )  # fmt: skip
    families = {f.name: f for f in SyncwellCollector("w", lambda: [sample]).collect()}
    retries = {s.labels["class"]: s.value for s in families["syncwell_retries"].samples}
    assert retries == {"transient": 4, "rate_limited": 2, "timeout": 1}
    assert families["syncwell_dead_letters_open"].samples[0].value == 5
