"""A small, fast, well-behaved sandbox per test, and clients for its three tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from syncwell.sandbox import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    ProjectConfig,
    Sandbox,
    SandboxConfig,
    SandboxEndpoints,
)

CRM_AUTH = {"Authorization": "Bearer sandbox-crm-token"}
EMAIL_AUTH = {"X-Api-Key": "sandbox-email-key"}
PROJECT_AUTH = ("sandbox", "sandbox-project-pass")
CONTACTS, COMPANIES, TASKS = 230, 20, 120
DELAY_S = 0.3


def small_config(**changes: Any) -> SandboxConfig:
    """Free ports, small seed data, no faults, short delays: a sandbox that starts in 0.1 s."""
    quiet = FaultSettings()
    config = SandboxConfig(
        crm=CrmConfig(
            port=0,
            contacts=CONTACTS,
            companies=COMPANIES,
            faults=quiet,
            webhook_backoff_s=0.05,
            webhook_timeout_s=2,
        ),
        email=EmailConfig(port=0, visibility_delay_s=DELAY_S, faults=quiet),
        project=ProjectConfig(port=0, tasks=TASKS, faults=quiet),
    )
    return config.model_copy(update=changes)


@dataclass
class Tools:
    """Clients for a running sandbox: authenticated API clients and an admin client per tool."""

    endpoints: SandboxEndpoints
    crm: httpx.AsyncClient
    email: httpx.AsyncClient
    project: httpx.AsyncClient
    anonymous: httpx.AsyncClient

    async def set_faults(self, url: str, **knobs: object) -> dict[str, Any]:
        response = await self.anonymous.post(f"{url}/_sandbox/faults", json=knobs)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def stats(self, url: str) -> dict[str, Any]:
        response = await self.anonymous.get(f"{url}/_sandbox/stats")
        assert response.status_code == 200, response.text
        return dict(response.json())


@asynccontextmanager
async def running(config: SandboxConfig) -> AsyncIterator[Tools]:
    """The sandbox of `config` on loopback, with clients, stopped at the end."""
    async with (
        Sandbox(config) as endpoints,
        httpx.AsyncClient(base_url=endpoints.crm_url, headers=CRM_AUTH) as crm,
        httpx.AsyncClient(base_url=endpoints.email_url, headers=EMAIL_AUTH) as email,
        httpx.AsyncClient(base_url=endpoints.project_url, auth=PROJECT_AUTH) as project,
        httpx.AsyncClient() as anonymous,
    ):
        yield Tools(endpoints, crm, email, project, anonymous)


@pytest.fixture
async def tools() -> AsyncIterator[Tools]:
    """The small sandbox, running."""
    async with running(small_config()) as started:
        yield started
