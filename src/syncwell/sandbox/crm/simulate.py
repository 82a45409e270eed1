"""`/_sandbox/<objects>/touch` and `/_sandbox/contacts/create`: people working in the CRM.

Tests and the demo call these to get live changes; they go through the same upsert as the API,
so each one has a new `updated_at` and sends its webhook.
"""

from __future__ import annotations

import random

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from syncwell.sandbox import seed
from syncwell.sandbox.crm.events import publish_changes
from syncwell.sandbox.crm.kinds import COMPANIES, CONTACTS, KINDS, Kind
from syncwell.sandbox.crm.store import CrmStore
from syncwell.sandbox.gate import ADMIN_PREFIX
from syncwell.sandbox.params import NotFoundError, read_count
from syncwell.sandbox.tool import ToolRuntime
from syncwell.sandbox.webhooks import WebhookSender

__all__ = ["simulation_router"]


def _edit(kind: Kind, key: str, rng: random.Random) -> dict[str, object]:
    if kind is COMPANIES:
        return {"domain": key, "employees": rng.randrange(1, 5000)}
    # A new phone number nearly always differs, so a touch is nearly always a real change.
    return {
        "email": key,
        "lifecycle_stage": rng.choice(seed.LIFECYCLE_STAGES),
        "phone": f"+1-555-{rng.randrange(100, 1000)}-{rng.randrange(1000, 10000)}",
    }


def simulation_router(store: CrmStore, runtime: ToolRuntime, sender: WebhookSender) -> APIRouter:
    """Admin routes that change records the way the CRM's users would."""
    router = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox"])

    @router.post("/contacts/create")
    async def create(request: Request) -> JSONResponse:
        """Add `count` new leads (default 10) working at existing companies."""
        count = await read_count(request)
        domains = store.sample_keys(COMPANIES, 50, runtime.rng)
        made = {}
        for _ in range(count):
            person = seed.new_person(
                runtime.rng, domains, suffix=f".{runtime.rng.randrange(16**6):06x}"
            )
            made[person.email] = vars(person) | {"lifecycle_stage": "lead"}
        changes = store.upsert(CONTACTS, list(made.values()))
        publish_changes(sender, CONTACTS, changes)
        return JSONResponse({"results": [change.record for change in changes]})

    @router.post("/{object_type}/touch")
    async def touch(object_type: str, request: Request) -> JSONResponse:
        """Edit `count` random records (default 10), as users editing in the CRM would."""
        kind = KINDS.get(object_type)
        if kind is None:
            raise NotFoundError(f"unknown object type {object_type!r}")
        count = await read_count(request)
        keys = store.sample_keys(kind, count, runtime.rng)
        changes = store.upsert(kind, [_edit(kind, key, runtime.rng) for key in keys])
        publish_changes(sender, kind, changes)
        return JSONResponse({"results": [change.record for change in changes]})

    return router
