"""How a flow proves its writes stuck: read-after-write verification.

A tool can answer 200 and not keep a field (a tracker that ignores `done_ratio` on parent
issues). So the first records a flow writes are read back from the destination and compared
with what was sent; a field that came back different is drift, counted per field. Past the
first records it can stay on for a sample of every batch (engine/verify.py does the work).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Verify"]

Column = Annotated[str, Field(min_length=1)]


class Verify(BaseModel):
    """A flow's `verify:`: which written records are read back and compared, and when drift
    is an incident. `verify: false` turns it off; `verify: true` keeps it on for every batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first: int = Field(
        default=200,
        ge=0,
        description="Records read back after they are written, counted from the flow's first "
        "write over the state store's history (a new flow's first writes); 0: none. "
        "Default 200.",
    )
    always: bool = Field(
        default=False,
        description="Keep reading back after the first records: `sample` of every batch. "
        "Default false.",
    )
    sample: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="Share of the written records read back once past the first (with "
        "`always`, or while the flow drifts), above 0 up to 1. Default 1 (all).",
    )
    drift_incident_above: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Share of the records read back in the last 5 minutes with drift above "
        "which the flow's `drift` incident opens, 0 to 1. Default 0: any drift.",
    )
    ignore: tuple[Column, ...] = Field(
        default=(),
        description="Fields never compared, in the destination's names: ones the tool "
        "rewrites on purpose (trims, lower-cases, computes). Default: none.",
    )

    @model_validator(mode="before")
    @classmethod
    def _on_or_off(cls, data: object) -> object:
        # `verify: false` is "never"; `verify: true` is "always, every record".
        if isinstance(data, bool):
            return {"first": 200, "always": True} if data else {"first": 0}
        if isinstance(data, dict) and isinstance(data.get("ignore"), str):
            return {**data, "ignore": (data["ignore"],)}
        return data

    @property
    def on(self) -> bool:
        """Whether the flow reads anything back at all."""
        return self.first > 0 or self.always
