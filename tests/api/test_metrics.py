"""`/metrics`: Prometheus exposition with syncwell_* names and workspace/integration/flow labels."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.api.hookkit import event, running_engine
from tests.waiting import until


async def test_metrics_count_what_webhooks_brought_and_what_was_written(tmp_path: Path) -> None:
    """After three webhooks are delivered, the counters say so, labelled by flow."""
    async with running_engine(tmp_path) as run:
        for number in range(3):
            await run.send(f"evt_{number}", event(f"evt_{number}", f"m{number}@x.io", number))
        await until(lambda: run.engine.progress["contacts"].written >= 3, within_s=10)
        answer = await run.client.get("/metrics")
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
