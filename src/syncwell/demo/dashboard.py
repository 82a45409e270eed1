"""The demo's way into its dashboard: an operator token kept in the demo's folder, made on
the first run and used again by the next ones (a new one if the state store was made anew)."""

from __future__ import annotations

from pathlib import Path

from syncwell.engine import admin
from syncwell.workspace import Workspace

__all__ = ["demo_token"]

TOKEN_FILE = "dashboard-token"  # noqa: S105 - a file name, not a secret


async def demo_token(workspace: Workspace, folder: Path) -> str:
    """The text of the demo's operator token, read from `folder` or made and written there
    (readable by its owner only)."""
    kept = folder / TOKEN_FILE
    if kept.exists():
        text = kept.read_text().strip()
        if await admin.live_token(workspace, text) is not None:
            return text
    _, text = await admin.create_token(workspace, "operator", "syncwell demo")
    kept.touch(mode=0o600)
    kept.chmod(0o600)  # before the secret goes in: an older file may be readable by others
    kept.write_text(text + "\n")
    return text
