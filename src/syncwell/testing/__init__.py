"""The public test kit: tools for testing syncwell and connectors written for it."""

from __future__ import annotations

from syncwell.testing.clock import FakeClock

__all__ = ["FakeClock"]
