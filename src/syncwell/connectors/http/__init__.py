"""The ``http`` connector: any JSON-over-HTTP API, configured in syncwell.yaml without code.

See docs/connectors/http.md for the settings, the error mapping, how rate limits are learned
and the shape of the checkpoints.
"""

from __future__ import annotations

from syncwell.connectors.http.destination import HttpDestination
from syncwell.connectors.http.session import Session
from syncwell.connectors.http.settings import Settings
from syncwell.connectors.http.source import HttpSource
from syncwell.connectors.http.verify import unreadable
from syncwell.types import Clock, RequestBudget, SystemClock

__all__ = [
    "HttpDestination",
    "HttpSource",
    "Settings",
    "assigned_id_field",
    "open_destination",
    "open_source",
    "unverifiable",
]


def assigned_id_field(settings: Settings, stream: str) -> str | None:
    """The name of the id the tool assigns to `stream`'s records (`write.ids.field`), if any."""
    configured = settings.streams.get(stream)
    if configured is None or configured.write is None or configured.write.ids is None:
        return None
    return configured.write.ids.field


def unverifiable(settings: Settings, stream: str) -> str | None:
    """Why records written to `stream` cannot be read back to verify them; None if they can."""
    configured = settings.streams.get(stream)
    return unreadable(None if configured is None else configured.write)


async def open_source(
    name: str,
    settings: Settings,
    *,
    budget: RequestBudget | None = None,
    clock: Clock | None = None,
) -> HttpSource:
    """Open the system `name` for reading; every request spends `budget` (None: no wait)."""
    clock = clock or SystemClock()
    return HttpSource(Session(name, settings, budget, clock), clock)


async def open_destination(
    name: str,
    settings: Settings,
    *,
    budget: RequestBudget | None = None,
    clock: Clock | None = None,
) -> HttpDestination:
    """Open the system `name` for writing; every request spends `budget` (None: no wait)."""
    return HttpDestination(Session(name, settings, budget, clock or SystemClock()))
