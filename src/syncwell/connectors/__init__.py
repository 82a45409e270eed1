"""Connectors: the code that talks to one kind of system.

`open_source` and `open_destination` pick the connector from the type of a system's settings.
Adding a kind is one entry in `_KINDS` (and its `Settings` in `syncwell.workspace.kinds`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import cast

from pydantic import BaseModel

from syncwell.connectors import http, postgres, sqlite, webhook_out
from syncwell.connectors.base import Destination, KeyLister, Source
from syncwell.types import RequestBudget

__all__ = [
    "KINDS",
    "Destination",
    "KeyLister",
    "Source",
    "assigned_id_field",
    "open_destination",
    "open_source",
    "unverifiable",
]

_KINDS: dict[type[BaseModel], ModuleType] = {
    postgres.Settings: postgres,
    sqlite.Settings: sqlite,
    webhook_out.Settings: webhook_out,
    http.Settings: http,
}
"""Each kind's `Settings` model and the module that opens its sources and destinations."""

KINDS = tuple(module.__name__.rsplit(".", 1)[-1] for module in _KINDS.values())


def _module(settings: BaseModel) -> ModuleType:
    try:
        return _KINDS[type(settings)]
    except KeyError:
        raise TypeError(f"no connector for settings of type {type(settings).__name__}") from None


async def open_source(
    name: str, settings: BaseModel, budget: RequestBudget | None = None
) -> Source:
    """Connect to system `name` for reading, with the connector its settings' kind names.

    `budget` is the system's shared request budget; connectors that make a request per page
    (http) spend it themselves, database connectors ignore it.
    """
    opener = cast("Callable[..., Awaitable[Source]]", _module(settings).open_source)
    return await opener(name, settings, budget=budget)


async def open_destination(
    name: str, settings: BaseModel, budget: RequestBudget | None = None
) -> Destination:
    """Connect to system `name` for writing, with the connector its settings' kind names."""
    opener = cast("Callable[..., Awaitable[Destination]]", _module(settings).open_destination)
    return await opener(name, settings, budget=budget)


def assigned_id_field(settings: BaseModel, stream: str) -> str | None:
    """The name of the id a system assigns to `stream`'s records, where it assigns them (an
    http stream with `write.ids`); None for systems keyed by the records' own keys."""
    finder = getattr(_module(settings), "assigned_id_field", None)
    return (
        None
        if finder is None
        else cast("Callable[[BaseModel, str], str | None]", finder)(settings, stream)
    )


def unverifiable(settings: BaseModel, stream: str) -> str | None:
    """Why records written to `stream` of a system cannot be read back to verify them (the
    flow's `verify:`); None when they can."""
    finder = getattr(_module(settings), "unverifiable", None)
    if finder is None:
        kind = _module(settings).__name__.rsplit(".", 1)[-1]
        return f"a {kind} destination keeps nothing syncwell can read back"
    return cast("Callable[[BaseModel, str], str | None]", finder)(settings, stream)
