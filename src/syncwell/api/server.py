"""Serving the app with uvicorn inside the engine's event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

__all__ = ["ApiServer", "ListenError", "bind_socket"]


class ListenError(OSError):
    """The address could not be listened on: the port is taken, or not ours to take.

    Args:
        host: the address asked for.
        port: the port asked for.
        code: the errno of the refusal (`errno.EADDRINUSE` when the port is taken).
        reason: the system's words for it.
    """

    def __init__(self, host: str, port: int, code: int, reason: str) -> None:
        super().__init__(code, f"cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
        self.reason = reason

    @property
    def in_use(self) -> bool:
        """Whether something else already listens there."""
        return self.errno == errno.EADDRINUSE

    def __reduce__(self) -> tuple[type[ListenError], tuple[str, int, int, str]]:
        return type(self), (self.host, self.port, self.errno or 0, self.reason)


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, not yet listening.

    Raises:
        ListenError: the port is in use, or the address is not this machine's to bind.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by the last run can be taken at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        code = error.errno or errno.EADDRNOTAVAIL
        raise ListenError(host, port, code, error.strerror or str(error)) from None
    except OverflowError:  # a port past 65535: Python's own check, before the system's
        sock.close()
        raise ListenError(host, port, errno.EINVAL, "a port is 0 to 65535") from None
    return sock


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The CLI owns SIGTERM and SIGINT: one stop event drains the engine and this server.
        yield


class ApiServer:
    """uvicorn on `host:port`, started and stopped with the engine.

    Args:
        app: the ASGI app.
        host: address to bind; 127.0.0.1 unless the tools must reach it from elsewhere.
        port: port to bind; 0 picks a free one (`port` tells which once listening).
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 8100) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,  # a request still waiting then is cut, never hangs a stop
        )
        self._server = _QuietServer(config)
        self._socket: socket.socket | None = None
        self.host = host
        self.port = port

    def listen(self) -> None:
        """Take the address and listen now, so a busy port fails here, before anything says
        "serving", and a client that connects at once is served.

        Raises:
            ListenError: the port is in use, or the address is not this machine's to bind.
        """
        if self._socket is not None:
            return
        self._socket = bind_socket(self.host, self.port)
        # Listening now, not when uvicorn starts: a client that connects as soon as it is told
        # "serving" waits in the backlog for uvicorn, where it was refused.
        self._socket.listen(self._server.config.backlog)
        self.port = int(self._socket.getsockname()[1])

    async def serve(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (listening first, if `listen` was not called).

        Raises:
            ListenError: the address could not be listened on.
        """
        self.listen()
        assert self._socket is not None, "listen() took the address"
        serving = asyncio.ensure_future(self._server.serve(sockets=[self._socket]))
        # uvicorn says it is listening only through a flag.
        while not self._server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()  # uvicorn could not start on the socket: its own error
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        self._server.should_exit = True
        stopping.cancel()
        await serving
        self._socket = None  # uvicorn closed it; a next serve() listens again
