"""The public test kit: tools for testing syncwell and connectors written for it.

- `FakeClock`: time that moves only when a test says so.
- The connector conformance kit: `check_source` runs the real engine against a live system
  and reports, check by check, whether a flow brings every change (docs/connectors/
  conformance.md); `check_destination` writes batches to a flow's destination as the
  engine's delivery does and checks what it promises (no duplicate, no older version over a
  newer, refused and missing records named); `assert_conformant` makes a test of either.
"""

from __future__ import annotations

from syncwell.testing.clock import FakeClock
from syncwell.testing.conformance import ConformanceOptions, ListsKeys, LiveSystem, check_source
from syncwell.testing.destination import DestinationOptions, SampleRecords, check_destination
from syncwell.testing.report import (
    Check,
    CheckResult,
    ConformanceReport,
    DestinationCheck,
    Outcome,
    assert_conformant,
)

__all__ = [
    "Check",
    "CheckResult",
    "ConformanceOptions",
    "ConformanceReport",
    "DestinationCheck",
    "DestinationOptions",
    "FakeClock",
    "ListsKeys",
    "LiveSystem",
    "Outcome",
    "SampleRecords",
    "assert_conformant",
    "check_destination",
    "check_source",
]
