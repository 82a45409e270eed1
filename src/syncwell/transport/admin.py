"""Looking into a workspace's stream, and starting it over: what `syncwell transport`,
the flows' backlog in `status` and the API, and ``/readyz`` ask of NATS (jetstream.py names
what they look at).

Each call opens a connection of its own and closes it: an operator's command, a status page,
a probe. None of it creates a stream or a consumer, so looking never changes what it sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, StreamInfo

from syncwell.errors import TransportError
from syncwell.store import FlowReport
from syncwell.transport.jetstream import _PARTITIONS, _token
from syncwell.workspace import Mode, Workspace

__all__ = [
    "ConsumerReport",
    "StreamReport",
    "TransportProbe",
    "delete_stream",
    "stream_name",
    "stream_report",
    "with_stream",
]

_TIMEOUT_S = 2.0
"""How long one question to NATS may take: an operator's command or a probe answers within
seconds, not after a hang."""


async def _quiet(_: Exception) -> None:
    """nats-py reports connection trouble here; the caller reports it once, as an error."""


_ONE_TRY: dict[str, Any] = {
    "max_reconnect_attempts": 1,  # nats-py reads 0 as "for ever"
    "reconnect_time_wait": 0.2,
    "error_cb": _quiet,
}
"""A first connection tried once: a server that is not there is an answer, not a wait."""


def stream_name(workspace: str) -> str:
    """The stream that holds `workspace`'s changes (as jetstream.py names it)."""
    return f"SYNCWELL_{_token(workspace)}"


@dataclass(frozen=True, slots=True)
class ConsumerReport:
    """One partition's consumer: what waits for it and what a worker holds."""

    name: str
    flow: str
    partition: int
    waiting: int
    """Messages not yet handed to a worker."""
    held: int
    """Messages a worker holds, not yet acked (0 or 1: one at a time per partition)."""
    redelivered: int
    """Messages handed out more than once (a worker died or handed one back)."""
    pulling: int
    """Workers' requests waiting on it now: 0 means no worker is pulling this partition."""
    ack_wait_s: float | None


@dataclass(frozen=True, slots=True)
class StreamReport:
    """What a workspace's stream holds, per flow, and its consumers."""

    url: str
    stream: str
    exists: bool
    partitions: int | None = None
    """The count the stream was made with (a process with another is refused)."""
    messages: int = 0
    """Messages waiting, every flow: each is one partition's part of a journal entry."""
    bytes: int = 0
    waiting: dict[str, int] = field(default_factory=dict)
    """Messages waiting per flow of the workspace, in its order (0 for a flow with none)."""
    others: dict[str, int] = field(default_factory=dict)
    """Messages on subjects no flow of the workspace has (a flow removed or renamed), by
    the subject's flow token."""
    consumers: list[ConsumerReport] = field(default_factory=list)

    @property
    def ack_wait_s(self) -> list[float]:
        """The ack waits the consumers have (one value when every process agrees)."""
        return sorted({c.ack_wait_s for c in self.consumers if c.ack_wait_s is not None})


@contextlib.asynccontextmanager
async def _connected(url: str) -> AsyncIterator[Client]:
    """A connection of our own to `url`, closed after; one that cannot be made is a
    `TransportError` naming the URL, within seconds."""
    try:
        client = await nats.connect(
            url,
            connect_timeout=_TIMEOUT_S,
            allow_reconnect=False,
            **_ONE_TRY,
        )
    except (nats.errors.Error, OSError) as error:
        raise TransportError(
            f"NATS at {url} cannot be reached: is the server running, with "
            "JetStream on? Check `transport.url` in the workspace"
        ) from error
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):  # closing: nothing left to save
            await client.close()


def _flow_tokens(workspace: Workspace) -> dict[str, str]:
    """Each flow's subject token, to its name."""
    return {_token(name): name for name in workspace.flows}


async def stream_report(workspace: Workspace) -> StreamReport:
    """What the stream of `workspace` holds; `exists` False when there is none yet.

    Raises:
        TransportError: the workspace has no transport, or NATS cannot be reached.
    """
    url = _url(workspace)
    stream = stream_name(workspace.name)
    async with _connected(url) as client:
        js = client.jetstream(timeout=_TIMEOUT_S)
        try:
            info = await js.stream_info(stream, subjects_filter=">")
            consumers = await _all_consumers(js, stream)
        except nats.js.errors.NotFoundError:
            return StreamReport(url=url, stream=stream, exists=False)
        except (nats.errors.Error, nats.js.errors.Error) as error:
            raise TransportError(f"NATS: reading stream {stream} failed: {error!r}") from error
    return _report(workspace, url, info, consumers)


async def with_stream(workspace: Workspace, reports: Sequence[FlowReport]) -> list[FlowReport]:
    """`reports` with what waits in the stream for each flow (`in_stream`), or why the
    stream could not be read (`stream_error`); as they are without a transport."""
    if workspace.transport is None:
        return list(reports)
    try:
        found = await stream_report(workspace)
    except TransportError as error:
        return [dataclasses.replace(r, stream_error=str(error)) for r in reports]
    return [dataclasses.replace(r, in_stream=found.waiting.get(r.flow, 0)) for r in reports]


def _report(
    workspace: Workspace, url: str, info: StreamInfo, consumers: Sequence[ConsumerInfo]
) -> StreamReport:
    tokens = _flow_tokens(workspace)
    waiting: Counter[str] = Counter(dict.fromkeys(workspace.flows, 0))
    others: Counter[str] = Counter()
    for subject, count in (info.state.subjects or {}).items():
        # syncwell.<workspace>.<flow>.<partition>
        token = subject.split(".")[2] if subject.count(".") == 3 else subject
        if token in tokens:
            waiting[tokens[token]] += count
        else:
            others[token] += count
    found = _PARTITIONS.search(info.config.description or "")
    return StreamReport(
        url=url,
        stream=info.config.name or stream_name(workspace.name),
        exists=True,
        partitions=int(found.group(1)) if found else None,
        messages=info.state.messages,
        bytes=info.state.bytes,
        waiting=dict(waiting),
        others=dict(others),
        consumers=sorted(
            (_consumer(c, tokens) for c in consumers), key=lambda c: (c.flow, c.partition)
        ),
    )


def _consumer(info: ConsumerInfo, tokens: dict[str, str]) -> ConsumerReport:
    # Durable names are <flow token>-<partition> (jetstream.py).
    token, _, partition = info.name.rpartition("-")
    return ConsumerReport(
        name=info.name,
        flow=tokens.get(token, token),
        partition=int(partition) if partition.isdigit() else -1,
        waiting=info.num_pending or 0,
        held=info.num_ack_pending or 0,
        redelivered=info.num_redelivered or 0,
        pulling=info.num_waiting or 0,
        ack_wait_s=info.config.ack_wait,
    )


async def _all_consumers(js: nats.js.JetStreamContext, stream: str) -> list[ConsumerInfo]:
    """Every consumer of `stream` (NATS answers a list 256 at a time)."""
    found: list[ConsumerInfo] = []
    while True:
        page = await js.consumers_info(stream, offset=len(found))
        found += page
        if len(page) < 256:
            return found


async def delete_stream(workspace: Workspace) -> bool:
    """Delete the stream of `workspace` and all it holds; False when there was none.

    Raises:
        TransportError: the workspace has no transport, or NATS cannot be reached.
    """
    url = _url(workspace)
    stream = stream_name(workspace.name)
    async with _connected(url) as client:
        try:
            return await client.jetstream(timeout=_TIMEOUT_S).delete_stream(stream)
        except nats.js.errors.NotFoundError:
            return False
        except (nats.errors.Error, nats.js.errors.Error) as error:
            raise TransportError(f"NATS: deleting stream {stream} failed: {error!r}") from error


def _url(workspace: Workspace) -> str:
    if workspace.transport is None:
        raise TransportError(
            "this workspace has no `transport:`: one process journals and delivers, and "
            "there is no stream to look into"
        )
    return workspace.transport.url


class TransportProbe:
    """Answers whether the transport can carry a process's work, for ``/readyz``: NATS is
    connected, the stream exists and, for a worker, so do its partitions' consumers.

    It keeps one connection of its own, reconnecting for as long as it lives, so a probe
    during an outage answers at once ("not connected") instead of waiting for a timeout.
    """

    def __init__(self, url: str, stream: str, consumers: Sequence[str] = ()) -> None:
        self._url = url
        self._stream = stream
        self._consumers = frozenset(consumers)
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, workspace: Workspace, *, worker: bool) -> TransportProbe | None:
        """The probe of a process of `workspace` (None without a transport): a `worker`
        also needs a consumer on each partition of each automated flow."""
        settings = workspace.transport
        if settings is None:
            return None
        consumers = []
        if worker:
            consumers = [
                f"{_token(flow)}-{partition}"
                for flow, spec in workspace.flows.items()
                if spec.mode is not Mode.MANUAL  # a manual flow has no delivery
                for partition in range(settings.partitions)
            ]
        return cls(settings.url, stream_name(workspace.name), consumers)

    async def problem(self) -> str | None:
        """What keeps the transport from carrying the work now, in a few words; None if
        nothing does."""
        client = await self._connection()
        if client is None or not client.is_connected:
            return f"NATS at {self._url} is not connected"
        js = client.jetstream(timeout=_TIMEOUT_S)
        try:
            await js.stream_info(self._stream)
            missing = self._consumers - {c.name for c in await _all_consumers(js, self._stream)}
        except nats.js.errors.NotFoundError:
            return f"stream {self._stream} does not exist"
        except (nats.errors.Error, nats.js.errors.Error, OSError) as error:
            return f"NATS at {self._url} does not answer: {error!r}"
        if missing:
            names = ", ".join(sorted(missing)[:3]) + (", ..." if len(missing) > 3 else "")
            return f"{len(missing)} partition consumer(s) of {self._stream} missing: {names}"
        return None

    async def _connection(self) -> Client | None:
        """The probe's connection, made at the first call that can make it."""
        async with self._lock:
            if self._client is None:
                try:
                    client = await nats.connect(
                        self._url,
                        connect_timeout=_TIMEOUT_S,
                        **_ONE_TRY,
                    )
                except (nats.errors.Error, OSError):
                    return None
                # From now on reconnect however long the server is away (as the transport
                # does); nats-py reads this at each reconnect.
                client.options["max_reconnect_attempts"] = -1
                client.options["reconnect_time_wait"] = 0.5
                self._client = client
            return self._client

    async def close(self) -> None:
        """Close the probe's connection, if it made one."""
        if self._client is not None:
            with contextlib.suppress(Exception):  # closing: nothing left to save
                await self._client.close()
            self._client = None
