"""Change data capture from PostgreSQL: a `mode: cdc` flow reads its table by logical
replication (the built-in pgoutput plugin) instead of polling a cursor. docs/cdc.md says how
to use it; docs/decisions/0024-cdc-by-logical-replication.md why it is built this way.
"""

from __future__ import annotations

from syncwell.connectors.postgres.cdc.capture import ChangeCapture
from syncwell.connectors.postgres.cdc.names import (
    CaptureNames,
    SlotReport,
    capture_names,
    drop_capture,
    slot_report,
)

__all__ = [
    "CaptureNames",
    "ChangeCapture",
    "SlotReport",
    "capture_names",
    "drop_capture",
    "slot_report",
]
