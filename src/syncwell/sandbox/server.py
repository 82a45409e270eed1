"""Serving the three tools: one uvicorn server each, all in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from syncwell.sandbox.config import SandboxConfig
from syncwell.sandbox.crm import create_crm
from syncwell.sandbox.email import create_email
from syncwell.sandbox.project import create_project
from syncwell.sandbox.tool import Tool

__all__ = ["Sandbox", "SandboxEndpoints", "serve_sandbox"]

_START_TIMEOUT_S = 10.0
_GRACEFUL_S = 2


@dataclass(frozen=True)
class SandboxEndpoints:
    """Where the running tools listen (the real ports, also when 0 was asked for)."""

    host: str
    crm_port: int
    email_port: int
    project_port: int

    def _url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def crm_url(self) -> str:
        return self._url(self.crm_port)

    @property
    def email_url(self) -> str:
        return self._url(self.email_port)

    @property
    def project_url(self) -> str:
        return self._url(self.project_port)

    def as_json(self) -> dict[str, object]:
        return {
            "host": self.host,
            "crm_port": self.crm_port,
            "email_port": self.email_port,
            "project_port": self.project_port,
        }


class _Server(uvicorn.Server):
    """uvicorn's server minus its signal handling: the sandbox handles signals once, for all."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Sandbox:
    """The three tools, started and stopped together; an async context manager.

    ```python
    async with Sandbox(SandboxConfig(crm=CrmConfig(port=0))) as endpoints:
        httpx.get(f"{endpoints.crm_url}/v1/contacts", headers=...)
    ```
    """

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.tools: dict[str, Tool] = {}
        self._servers: list[tuple[_Server, asyncio.Task[None]]] = []
        self._endpoints: SandboxEndpoints | None = None

    @property
    def endpoints(self) -> SandboxEndpoints:
        """Where the tools listen; only once started."""
        if self._endpoints is None:
            raise RuntimeError("the sandbox is not running")
        return self._endpoints

    async def start(self) -> SandboxEndpoints:
        """Open every tool's data (seeding new files) and listen on its port.

        Raises:
            OSError: when a port is taken.
        """
        config = self.config
        plan = (
            (create_crm, config.crm.port),
            (create_email, config.email.port),
            (create_project, config.project.port),
        )
        try:
            ports = [await self._serve(build(config), port) for build, port in plan]
        except BaseException:
            await self.stop()
            raise
        self._endpoints = SandboxEndpoints(config.host, *ports)
        return self._endpoints

    async def _serve(self, tool: Tool, port: int) -> int:
        self.tools[tool.name] = tool
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.create_server((self.config.host, port), family=family)
        bound = int(sock.getsockname()[1])
        server = _Server(self._uvicorn_config(tool))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        self._servers.append((server, task))
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT_S
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError(f"the sandbox {tool.name} stopped while starting")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the sandbox {tool.name} did not start")
            await asyncio.sleep(0.005)
        return bound

    def _uvicorn_config(self, tool: Tool) -> uvicorn.Config:
        access_log = self.config.access_log
        return uvicorn.Config(
            tool.app,
            lifespan="off",
            ws="none",
            access_log=access_log,
            # Without an access log, leave the host's logging alone; uvicorn's warnings still
            # reach the root logger.
            log_config=LOGGING_CONFIG if access_log else None,
            log_level=logging.INFO if access_log else logging.WARNING,
            timeout_graceful_shutdown=_GRACEFUL_S,
        )

    async def stop(self) -> None:
        """Stop listening, let requests in flight finish, close every tool's data."""
        for server, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in self._servers), return_exceptions=True)
        for tool in self.tools.values():
            await tool.close()
        self._servers.clear()
        self.tools.clear()
        self._endpoints = None

    async def __aenter__(self) -> SandboxEndpoints:
        return await self.start()

    async def __aexit__(self, *_: object) -> None:
        await self.stop()


async def serve_sandbox(
    config: SandboxConfig,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    started: Callable[[SandboxEndpoints], object] | None = None,
) -> None:
    """Run the three tools until `stop` is set (or the task is cancelled).

    Args:
        config: ports, data folder, credentials and faults of the tools.
        ready: set once every tool listens.
        stop: set it to stop the tools cleanly; None runs until cancelled.
        started: called with the bound endpoints once every tool listens, before `ready`.
    """
    async with Sandbox(config) as endpoints:
        if started is not None:
            started(endpoints)
        if ready is not None:
            ready.set()
        await (stop or asyncio.Event()).wait()
