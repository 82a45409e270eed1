"""People at work while the demo runs: sales edit and add leads in the CRM, users edit their
profiles in the product, and the project tool's tasks move along."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import structlog

from syncwell.demo.core import edit_some_contacts
from syncwell.sandbox import SandboxEndpoints

__all__ = ["simulate_people"]

log = structlog.get_logger("syncwell.demo")


async def simulate_people(
    endpoints: SandboxEndpoints, core: Path, stop: asyncio.Event, *, every_s: float = 3.0
) -> None:
    """Every `every_s` seconds until `stop`: a few edits on each side."""
    rng = random.Random()  # noqa: S311 - demo data, not secrets
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=every_s)
                return
            except TimeoutError:
                pass
            try:
                await client.post(f"{endpoints.crm_url}/_sandbox/contacts/touch", json={"count": 5})
                await client.post(
                    f"{endpoints.crm_url}/_sandbox/contacts/create", json={"count": 2}
                )
                await client.post(
                    f"{endpoints.project_url}/_sandbox/tasks/touch", json={"count": 3}
                )
                await asyncio.to_thread(edit_some_contacts, core, 5, rng)
            except (httpx.HTTPError, OSError) as error:
                log.info("the demo's people could not work this time", error=str(error))
