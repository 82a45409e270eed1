"""The public test kit: tools for testing syncwell and connectors written for it.

- `FakeClock`: time that moves only when a test says so.
- The connector conformance kit: `check_source` runs the real engine against a live system
  and reports, check by check, whether a flow brings every change (docs/connectors/
  conformance.md); `assert_conformant` makes a test of it.
"""

from __future__ import annotations

from syncwell.testing.clock import FakeClock
from syncwell.testing.conformance import ConformanceOptions, ListsKeys, LiveSystem, check_source
from syncwell.testing.report import (
    Check,
    CheckResult,
    ConformanceReport,
    Outcome,
    assert_conformant,
)

__all__ = [
    "Check",
    "CheckResult",
    "ConformanceOptions",
    "ConformanceReport",
    "FakeClock",
    "ListsKeys",
    "LiveSystem",
    "Outcome",
    "assert_conformant",
    "check_source",
]
