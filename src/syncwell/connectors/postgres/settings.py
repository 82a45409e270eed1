"""Settings of a ``kind: postgres`` system."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class Settings(BaseModel):
    """A PostgreSQL database, as a source or a destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["postgres"]
    dsn: SecretStr = Field(
        description="libpq connection URL, e.g. postgresql://user@host:5432/db. "
        "Put the password in ${ENV_VAR}, never in the file."
    )
    db_schema: str = Field(
        default="public",
        alias="schema",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="The schema that holds the flows' tables. Default: public.",
    )
    connect_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds to wait for a connection. Default: 10."
    )
    statement_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Seconds one statement may run before it counts as a transient failure. "
        "Default: 300.",
    )
