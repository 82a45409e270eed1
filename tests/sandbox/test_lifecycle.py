"""Starting and stopping: data kept across restarts, thread and process runners, seeds, flags."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from syncwell.sandbox import PeriodicOutage, SandboxProcess, SandboxThread
from syncwell.sandbox.command import build_parser, config_from_args
from tests.sandbox.conftest import (
    CONTACTS,
    CRM_AUTH,
    DELAY_S,
    TASKS,
    Tools,
    running,
    small_config,
)


async def test_data_survives_a_restart_and_is_not_seeded_twice(tmp_path: Path) -> None:
    """With a data_dir, records written before a stop are there after the restart, seed once."""
    config = small_config(data_dir=tmp_path)
    async with running(config) as tools:
        made = await tools.crm.post(
            "/v1/contacts/batch/upsert", json={"inputs": [{"email": "keep@example.com"}]}
        )
        before = made.json()["results"][0]["updated_at"]
        await tools.email.post(
            "/api/lists/main/members:batch", json={"members": [{"email": "keep@example.com"}]}
        )
        await tools.project.delete("/api/v2/tasks/1")
    files = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.glob("*.db")))
    assert files == ["crm.db", "email.db", "project.db"]

    async with running(config) as tools:
        assert (await tools.crm.get("/v1/contacts/keep@example.com")).status_code == 200
        assert (await tools.project.get("/api/v2/tasks/1")).status_code == 404
        await asyncio.sleep(DELAY_S)
        counts = {
            name: (await tools.stats(url))["records"]
            for name, url in (
                ("crm", tools.endpoints.crm_url),
                ("email", tools.endpoints.email_url),
                ("project", tools.endpoints.project_url),
            )
        }
        again = await tools.crm.post(
            "/v1/contacts/batch/upsert",
            json={"inputs": [{"email": "keep@example.com", "first_name": "K"}]},
        )
    assert counts["crm"]["contacts"] == CONTACTS + 1
    assert counts["email"] == {"members": 1} and counts["project"] == {"tasks": TASKS - 1}
    assert again.json()["results"][0]["updated_at"] > before


async def _contacts_and_task_contacts(tools: Tools) -> tuple[list[dict[str, Any]], set[str]]:
    contacts: list[dict[str, Any]] = []
    after = None
    while True:
        params = {"limit": 100, **({"after": after} if after else {})}
        body = (await tools.crm.get("/v1/contacts", params=params)).json()
        # Timestamps are relative to when the file was seeded; everything else is the seed's.
        contacts += [{k: v for k, v in c.items() if not k.endswith("_at")} for c in body["results"]]
        if "paging" not in body:
            break
        after = body["paging"]["next"]["after"]
    tasks = (await tools.project.get("/api/v2/tasks", params={"limit": 50})).json()["data"]
    return contacts, {task["contact_email"] for task in tasks} - {None}


async def test_same_seed_gives_the_same_data_and_tasks_name_crm_contacts() -> None:
    """Two sandboxes with one seed hold the same contacts; tasks refer to those contacts."""
    async with running(small_config()) as tools:
        first, named = await _contacts_and_task_contacts(tools)
    async with running(small_config()) as tools:
        second, _ = await _contacts_and_task_contacts(tools)
    assert first == second and len(first) == CONTACTS
    assert named and named <= {contact["email"] for contact in first}


def test_thread_runner_serves_sync_code() -> None:
    """SandboxThread starts the tools on their own loop for sync callers and stops them."""
    with SandboxThread(small_config()) as endpoints:
        response = httpx.get(
            f"{endpoints.crm_url}/v1/contacts/nobody@example.com", headers=CRM_AUTH
        )
        assert response.status_code == 404
    try:
        httpx.get(f"{endpoints.crm_url}/_sandbox/stats")
        raise AssertionError("still listening after stop")
    except httpx.ConnectError:
        pass


async def test_process_runner_starts_on_free_ports_and_stops_cleanly(tmp_path: Path) -> None:
    """`python -m syncwell.sandbox` reports its ports, serves, and exits 0 on SIGTERM."""
    process = SandboxProcess(small_config(data_dir=tmp_path))
    endpoints = await process.astart()
    try:
        async with httpx.AsyncClient() as client:
            stats = (await client.get(f"{endpoints.project_url}/_sandbox/stats")).json()
            assert stats["records"] == {"tasks": TASKS}
    finally:
        assert await process.astop() == 0
    assert (tmp_path / "crm.db").exists()


def test_flags_build_the_config() -> None:
    """Ports, sizes, credentials, shared and per-tool fault flags land in the right fields."""
    args = build_parser().parse_args(
        [
            "--data-dir", "/tmp/sw",
            "--crm-port", "0",
            "--contacts", "50",
            "--email-key", "k",
            "--webhook-url", "http://127.0.0.1:9/hooks",
            "--error-rate", "0.1",
            "--outage", "60:5",
            "--rate-limit-per-s", "off",
            "--project-faults", '{"latency_ms": 0}',
        ]
    )  # fmt: skip
    config = config_from_args(args)
    assert config.data_dir == Path("/tmp/sw") and config.crm.port == 0
    assert config.crm.contacts == 50 and config.email.api_key == "k"
    (hook,) = config.crm.webhooks
    assert hook.url == "http://127.0.0.1:9/hooks" and hook.secret.startswith("whsec_")
    for tool in (config.crm, config.email, config.project):
        assert tool.faults.error_rate == 0.1 and tool.faults.rate_limit_per_s is None
        assert tool.faults.outages == (PeriodicOutage(every_s=60, for_s=5),)
    assert config.project.faults.latency_ms == 0 and config.crm.faults.latency_ms == 0
    assert config_from_args(build_parser().parse_args([])).crm.faults.rate_limit_per_s == 10
