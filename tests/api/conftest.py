"""What the API's tests share: an in-process client of the app for the module's workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from syncwell.api import create_app
from syncwell.workspace import Workspace


@pytest.fixture
async def client(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `syncwell serve`'s app (no engine) for the `workspace` fixture of the
    module that asks for it."""
    transport = httpx.ASGITransport(app=create_app(workspace=workspace))
    async with httpx.AsyncClient(transport=transport, base_url="http://syncwell") as client:
        yield client
