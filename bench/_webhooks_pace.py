"""Acknowledgement latency at a fixed rate: an open-loop asyncio client in this process.

Open loop: each request has a time to leave (start + n / rate) and is queued then, whether or
not earlier ones were answered, the way independent senders behave. Its latency is counted from
that scheduled time to the end of the answer, so a server that keeps requests waiting, or a
client that fell behind, shows in the numbers instead of quietly lowering the rate (the
"coordinated omission" of closed-loop clients).

The client speaks HTTP/1.1 itself over a fixed set of kept-alive connections: a request is
bytes prepared beforehand, an answer is a status line, headers and a Content-Length body. httpx
costs about 1 ms of CPU a request here, more as its pool grows, and on a 2-core machine that
CPU is taken from the server being measured; this client costs a few tens of microseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from _webhooks_requests import HOOK_PATH, SignedRequest

__all__ = ["Paced", "paced"]

_CONNECTIONS = 32
"""Connections the client keeps open: far more than the rate needs while answers are quick."""


@dataclass(frozen=True, slots=True)
class _Sent:
    seconds: float
    late_s: float
    outcome: Literal["accepted", "refused", "failed"]


@dataclass(frozen=True, slots=True)
class Paced:
    """Latencies in milliseconds of the accepted answers; how many were refused (any other
    answer) or failed (no answer); how long the latest request waited for a free connection."""

    rate: float
    latencies_ms: tuple[float, ...]
    refused: int
    failed: int
    late_ms: float

    def percentile(self, share: float) -> float:
        """The nearest-rank percentile: the latency `share` of the answers did not exceed."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]

    @property
    def p50_ms(self) -> float:
        return self.percentile(0.50)

    @property
    def p99_ms(self) -> float:
        return self.percentile(0.99)

    @property
    def max_ms(self) -> float:
        return max(self.latencies_ms, default=float("nan"))

    def as_dict(self) -> dict[str, float | int]:
        return {
            "rate_per_s": self.rate,
            "accepted": len(self.latencies_ms),
            "refused": self.refused,
            "failed": self.failed,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "longest_wait_for_connection_ms": round(self.late_ms, 2),
        }


def _wire(request: SignedRequest, host: str) -> bytes:
    headers = {**request.headers, "host": host, "content-length": str(len(request.body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {HOOK_PATH} HTTP/1.1\r\n{head}\r\n".encode("latin-1") + request.body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: bytes
) -> bool:
    """Send one request, read its whole answer; True when it is 200 ``accepted``."""
    writer.write(wire)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    body = await reader.readexactly(length)
    return status_line.split(" ", 2)[1] == "200" and b'"accepted"' in body


_Queue = asyncio.Queue[tuple[int, bytes, float] | None]


async def _connection(host: str, port: int, queue: _Queue, sent: list[_Sent]) -> None:
    """One kept-alive connection: takes queued requests until it finds None."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (item := await queue.get()) is not None:
            n, wire, due = item
            late = time.perf_counter() - due
            try:
                accepted = await _exchange(reader, writer, wire)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                sent[n] = _Sent(time.perf_counter() - due, late, "failed")
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            outcome: Literal["accepted", "refused"] = "accepted" if accepted else "refused"
            sent[n] = _Sent(time.perf_counter() - due, late, outcome)
    finally:
        writer.close()


async def _paced(url: str, requests: Sequence[SignedRequest], rate: float) -> list[_Sent]:
    """Every request's result, in the order they were scheduled."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    wires = [_wire(request, address.netloc) for request in requests]
    queue: _Queue = asyncio.Queue()
    sent = [_Sent(0.0, 0.0, "failed")] * len(wires)
    connections = [
        asyncio.create_task(_connection(host, port, queue, sent)) for _ in range(_CONNECTIONS)
    ]
    start = time.perf_counter() + 0.1  # the connections open meanwhile
    for n, wire in enumerate(wires):
        due = start + n / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        queue.put_nowait((n, wire, due))
    for _ in connections:
        queue.put_nowait(None)
    await asyncio.gather(*connections)
    return sent


def paced(url: str, requests: Sequence[SignedRequest], rate: float, warmup: int) -> Paced:
    """Send `requests` to `url` at `rate` a second; the first `warmup` answers are not
    counted (the server's first requests pay for imports and caches)."""
    sent = asyncio.run(_paced(url, requests, rate))[warmup:]
    return Paced(
        rate=rate,
        latencies_ms=tuple(s.seconds * 1e3 for s in sent if s.outcome == "accepted"),
        refused=sum(1 for s in sent if s.outcome == "refused"),
        failed=sum(1 for s in sent if s.outcome == "failed"),
        late_ms=max((s.late_s for s in sent), default=0.0) * 1e3,
    )
