"""How a flow learns of records deleted in a source that keeps no tombstones.

A read by cursor never shows a record that is gone. So a flow can list its source's keys
every so often (a key scan) and journal a delete for each key it took in that the listing no
longer holds. A flow without a cursor reads everything each time, and that read is its scan.
Either way a guard holds back a pass that would delete much at once (DESIGN.md: never apply
"missing means deleted" after an incomplete read).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from syncwell.workspace.durations import Duration

__all__ = ["DeleteDetection"]


class DeleteDetection(BaseModel):
    """A flow's `deletes:`: how records gone from its source are found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    detect: Literal["scan", "none"] = Field(
        default="scan",
        description="`scan`: list the source's keys every `every` and delete what is gone; "
        "`none`: deletes in the source do not matter to this flow. Default scan.",
    )
    every: Duration = Field(
        default=timedelta(hours=1),
        description="Time between key scans; 0s scans after every read. A flow without a "
        "cursor scans with every read whatever this says. Default 1h.",
    )
    max_share: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="A pass that would delete more than this share of the keys it knew is "
        "held back: nothing is deleted, an incident opens. Default 0.1 (10%).",
    )
    guard_above: int = Field(
        default=10,
        ge=0,
        description="A pass that would delete at most this many keys is never held back by "
        "`max_share` (small tables). Default 10.",
    )
