"""The demo's world: the core database, the sandbox's tools in their own process, the workspace.

Everything lives in one folder, so a rerun resumes: the core keeps its rows, the tools keep
their data (and the CRM its webhook subscription), syncwell its journal and checkpoints.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from syncwell.demo.core import create_core
from syncwell.demo.workspace import WEBHOOK_SECRET, write_workspace
from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    SandboxConfig,
    SandboxEndpoints,
    SandboxProcess,
    WebhookSubscription,
)

__all__ = ["DemoWorld", "demo_world"]


@dataclass(frozen=True, slots=True)
class DemoWorld:
    """Where the demo's parts are."""

    workspace: Path
    core: Path
    endpoints: SandboxEndpoints


def sandbox_config(folder: Path, api_port: int, *, free_ports: bool) -> SandboxConfig:
    """The tools as the story needs them: a CRM that misbehaves now and then, a slow tool."""
    hook = WebhookSubscription(url=f"http://127.0.0.1:{api_port}/hooks/crm", secret=WEBHOOK_SECRET)
    crm_faults = FaultSettings(
        rate_limit_per_s=10,
        error_rate=0.02,  # the sync that fails every third Tuesday, compressed
        malformed_rate=0.002,  # messy records: the core refuses them into dead letters
        duplicate_webhook_rate=0.05,
        reorder_webhooks=True,
    )
    return SandboxConfig(
        data_dir=folder / "sandbox",
        crm=CrmConfig(port=0 if free_ports else 8101, webhooks=(hook,), faults=crm_faults),
        email=EmailConfig(port=0 if free_ports else 8102),
        project=ProjectConfig(port=0 if free_ports else 8103),
    )


def _prepare(folder: Path, core: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    create_core(core)


@asynccontextmanager
async def demo_world(folder: Path, api_port: int, *, free_ports: bool) -> AsyncIterator[DemoWorld]:
    """Create what is missing, start the tools, write the workspace; stop the tools after."""
    core = folder / "core.db"
    await asyncio.to_thread(_prepare, folder, core)
    tools = SandboxProcess(sandbox_config(folder, api_port, free_ports=free_ports))
    endpoints = await tools.astart()
    try:
        yield DemoWorld(write_workspace(folder, endpoints), core, endpoints)
    finally:
        await tools.astop()
