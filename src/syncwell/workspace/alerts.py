"""Where incident alerts go: a webhook that hears of every incident opening and closing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["AlertSettings"]


class AlertSettings(BaseModel):
    """`alerts:` in syncwell.yaml: a URL signed for with Standard Webhooks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://", description="Where alerts are POSTed (http or https).")
    secret: SecretStr = Field(
        description="Standard Webhooks secret (whsec_<base64>) the alerts are signed with."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Per attempt, seconds. Default 10.")
