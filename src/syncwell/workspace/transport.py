"""`transport:` in syncwell.yaml: how journal entries reach workers when syncwell runs on many
machines (DESIGN.md, Distributed). Without it, one process reads and delivers everything."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["TransportSettings"]


class TransportSettings(BaseModel):
    """NATS JetStream: `syncwell run` reads the sources and relays what it journals there;
    any number of `syncwell worker` processes deliver it. The state store must then be
    PostgreSQL, which every process shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["nats"] = Field(default="nats", description="The transport. Only nats.")
    url: str = Field(
        default="nats://127.0.0.1:4222",
        description="The NATS server, with JetStream on. Default nats://127.0.0.1:4222.",
    )
    partitions: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Per flow: how many workers can deliver it at once; each key keeps its "
        "order. Default 8.",
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a worker may hold a batch before another takes it (a worker that "
        "died). Default 30.",
    )

    @field_validator("url")
    @classmethod
    def _a_nats_server(cls, url: str) -> str:
        if not url.startswith(("nats://", "tls://")):
            raise ValueError(
                f"{url!r} is not a NATS server's URL; write nats://host:4222 (tls://host:4222 "
                "for TLS)"
            )
        return url
