"""The connector kinds a system may name, and their `Settings` models.

Adding a kind is one line: its `Settings` joins the `ConnectorSettings` union. The table of kinds
is read from that union, so the loader's "supported kinds" message can never fall behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, get_args

from pydantic import BaseModel, Field

from syncwell.connectors.http.settings import Settings as HttpSettings
from syncwell.connectors.postgres.settings import Settings as PostgresSettings
from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.connectors.webhook_out.settings import Settings as WebhookOutSettings

__all__ = ["SETTINGS_BY_KIND", "ConnectorSettings", "resolve_paths"]

ConnectorSettings = Annotated[
    PostgresSettings | SqliteSettings | WebhookOutSettings | HttpSettings,
    Field(discriminator="kind"),
]
"""A system's connector settings; the `kind` field picks the model."""


def _by_kind() -> dict[str, type[BaseModel]]:
    union = get_args(ConnectorSettings)[0]
    table: dict[str, type[BaseModel]] = {}
    for model in get_args(union):
        (kind,) = get_args(model.model_fields["kind"].annotation)
        table[kind] = model
    return table


SETTINGS_BY_KIND: dict[str, type[BaseModel]] = _by_kind()
"""Each supported `kind` and the `Settings` model that validates it."""


def resolve_paths(settings: BaseModel, root: Path) -> BaseModel:
    """Settings whose file paths are absolute, relative ones taken from `root`.

    Done at load so that the engine's working directory never changes which file it opens.
    """
    if isinstance(settings, SqliteSettings) and settings.path != ":memory:":
        path = Path(settings.path).expanduser()
        if not path.is_absolute():
            path = (root / path).resolve()
        return settings.model_copy(update={"path": str(path)})
    return settings
