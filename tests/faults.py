"""Real faults on loopback: a TCP proxy that drops connections at random."""

from __future__ import annotations

import asyncio
import random
from contextlib import suppress


class FlakyProxy:
    """Forwards TCP to `target`, cutting each chunk's connection with probability `drop_rate`.

    A cut closes both sides mid-stream, the way a load balancer or a restarted server does,
    so the client sees a real dropped connection, not an error message.
    """

    def __init__(self, target_port: int, *, drop_rate: float, seed: int = 1) -> None:
        self.target_port = target_port
        self.drop_rate = drop_rate
        self.drops = 0
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FlakyProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with suppress(Exception):
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, writer),
            self._pipe(up_reader, writer, up_writer),
            return_exceptions=True,
        )

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if self._rng.random() < self.drop_rate:
                    self.drops += 1
                    break
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for side in (writer, other):
                side.close()
            self._writers.discard(writer)
            self._writers.discard(other)
