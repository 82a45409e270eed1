"""The engine: intake -> journal -> delivery, with the scheduler and the policies."""

from __future__ import annotations

from syncwell.engine.progress import FlowProgress
from syncwell.engine.runner import Engine

__all__ = ["Engine", "FlowProgress"]
