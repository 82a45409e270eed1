"""What is known of a step people do by hand (`mode: manual`): how often and how long.

syncwell does not run a manual flow, so it cannot measure one. What the workspace declares is
what the analysis ranks it by: a change waits up to `every` before a person picks it up, and
`takes` more while they do it (docs/constraint.md).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from syncwell.workspace.durations import Duration, PositiveDuration

__all__ = ["Manual"]


class Manual(BaseModel):
    """A manual flow's `manual:`: how often a person does the step and how long it takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    every: PositiveDuration = Field(
        default=timedelta(days=1),
        description="How often a person does the step (a change waits up to this long "
        "before it is picked up). Default 1d.",
    )
    takes: Duration = Field(
        default=timedelta(0),
        description="How long the step takes the person, once begun. Default 0s.",
    )

    @property
    def wait_s(self) -> float:
        """The longest a change waits to be done by hand: `every` plus `takes`, in seconds."""
        return (self.every + self.takes).total_seconds()
