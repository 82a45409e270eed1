"""What the API's tests share: an in-process client of the app for the module's workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from syncwell.api import create_app
from syncwell.workspace import Workspace
from tests.asgi import serving


@pytest.fixture
async def client(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `syncwell serve`'s app (no engine) for the `workspace` fixture of the
    module that asks for it."""
    async with serving(create_app(workspace=workspace)) as client:
        yield client
