"""What every sandbox tool is made of: its runtime state and the handle the server runs."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp

from syncwell.sandbox.config import FaultSettings
from syncwell.sandbox.faults import FaultState
from syncwell.sandbox.messy import RecordShape, spoil
from syncwell.sandbox.ratelimit import FixedWindow
from syncwell.sandbox.stats import ToolStats

__all__ = ["Tool", "ToolRuntime"]


class ToolRuntime:
    """The state every tool shares: its live faults, its counters, its dice, its limiter.

    Args:
        name: `crm`, `email` or `project`.
        faults: the settings the tool starts with.
        seed: seeds the tool's dice, so a run with the same seed misbehaves alike.
    """

    def __init__(self, name: str, faults: FaultSettings, seed: int) -> None:
        self.name = name
        self.rng = random.Random(f"{seed}:{name}")  # noqa: S311 - fault dice, not secrets
        self.faults = FaultState(faults, self.rng)
        self.stats = ToolStats()
        self.limiter = FixedWindow()

    def present(
        self, records: list[dict[str, object]], shape: RecordShape
    ) -> list[dict[str, object]]:
        """Records for a list answer, some made messy by the `malformed_rate` knob."""
        shown = []
        for record in records:
            if self.faults.messy():
                self.stats.malformed_records += 1
                shown.append(spoil(record, shape, self.rng))
            else:
                shown.append(record)
        return shown


async def _nothing() -> None:
    return None


@dataclass
class Tool:
    """One tool ready to serve: its ASGI app, its counters, and how to release its resources."""

    name: str
    app: ASGIApp
    runtime: ToolRuntime
    records: Callable[[], Mapping[str, int]]
    close: Callable[[], Awaitable[None]] = field(default=_nothing)
