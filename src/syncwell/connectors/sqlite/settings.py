"""Settings of a ``kind: sqlite`` system."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """A SQLite database file, as a source or a destination (the demo's core system)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sqlite"]
    path: str = Field(
        description="The database file; relative paths start at the workspace file's folder."
    )
    busy_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for another writer's lock before failing transiently. "
        "Default: 10.",
    )
