"""Journal entries on NATS JetStream, for workers on many machines (DESIGN.md, Distributed).

One stream per workspace holds every flow's changes, one subject per flow and partition:
``syncwell.<workspace>.<flow>.<partition>``. The stream keeps a message until a worker acks
it (work-queue retention), on disk. Each partition has one durable pull consumer that lets a
single message be in flight at a time (``max_ack_pending=1``): however many workers pull from
it, a partition's changes are applied in order, and the partitions in parallel.

- **Publish is de-duplicated** by the change id (``Nats-Msg-Id``): a relay that died after
  publishing an entry and before dropping it from the journal publishes it again with the same
  id, and the stream keeps it once (within ``duplicate_window_s``).
- **Nothing is lost with a worker**: a message not acked within ``ack_wait_s`` goes to the next
  worker, however often that happens (no ``max_deliver``: a message is never dropped unseen;
  the engine dead-letters what it cannot write). A worker holding a message keeps telling the
  stream so (`Received.working`); `Received.retry` hands it back.
- **A message knows its place** (`Received.place`): the stream's and the consumer's creation
  times, its stream sequence and its delivery count. A redelivery, or the partition's next
  message, has a later place; the engine fences writes by it (store/leases.py).
- **The partition count is the stream's**: it is kept in the stream's description (metadata
  needs NATS 2.10; Debian 12 ships 2.9), and a process
  with another count is refused, since it would send a key's changes to another partition
  than the ones still waiting.

nats-py's errors are turned into `TransportError` here, in `_carried`.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from syncwell.errors import TransportError
from syncwell.store.codec import decode_batch, encode_batch
from syncwell.transport.partitions import split_by_partition
from syncwell.types import ChangeBatch

__all__ = ["JetStreamSettings", "JetStreamTransport", "Received"]

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_CHANGE_ID = "Syncwell-Change-Id"
_PARTITIONS = re.compile(r"partitions=(\d+)")
_FIRST_CONNECT_ATTEMPTS = 3
"""Connection attempts before a server that is not there at the start is an error, within
seconds, not a hang."""
_ACK_TIMEOUT_S = 10.0
"""How long an ack may take to be confirmed (a busy JetStream on a slow disk)."""

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class JetStreamSettings:
    """Where the stream is and how its messages are delivered."""

    url: str = "nats://127.0.0.1:4222"
    workspace: str = "syncwell"
    """Names the stream (``SYNCWELL_<workspace>``) and its subjects."""
    partitions: int = 8
    """Per flow: how many workers can deliver one flow at once (per-key order holds)."""
    ack_wait_s: float = 30.0
    """How long a worker may hold a message before it goes to another (a worker that died)."""
    duplicate_window_s: float = 3600.0
    """How long a change id is remembered to drop a second publish of it."""


@dataclass(frozen=True, slots=True)
class Received:
    """One message: a batch of one flow's partition, and what to do with it once handled."""

    flow: str
    partition: int
    change_id: str
    batch: ChangeBatch
    attempt: int
    """1 the first time; more when a worker died holding it or asked to retry."""
    sequence: int
    """Its place in the stream: grows with each message published."""
    waiting_behind: int
    """Messages of the partition that waited behind this one when it was taken."""
    _message: Msg
    place: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))
    """Where it stands among the partition's deliveries, oldest first when compared: the
    stream's creation and the consumer's (µs: a stream or consumer made anew starts its
    counts again), its stream sequence, and how often it was delivered."""

    async def ack(self) -> None:
        """Delivered: the stream forgets it."""
        with _carried("ack"):
            await self._message.ack_sync(timeout=_ACK_TIMEOUT_S)

    async def retry(self, delay_s: float = 0.0) -> None:
        """Hand it back (a worker stopping, a transient failure): offer it again after
        `delay_s`."""
        with _carried("retry"):
            await self._message.nak(delay=delay_s)

    async def working(self) -> None:
        """Still at it: the stream waits another ``ack_wait_s`` before offering it again."""
        with _carried("in_progress"):
            await self._message.in_progress()

    async def give_up(self) -> None:
        """Never deliver it (the caller kept what it needs, as dead letters)."""
        with _carried("term"):
            await self._message.term()


class JetStreamTransport:
    """Publishes flows' changes to the workspace's stream and hands them to workers.

    Build it with `connect`; `close` it when done.
    """

    def __init__(
        self,
        client: Client,
        stream: JetStreamContext,
        settings: JetStreamSettings,
        keys: Mapping[str, Sequence[str]],
    ) -> None:
        self._client = client
        self._js = stream
        self._settings = settings
        self._keys = dict(keys)
        self._stream = f"SYNCWELL_{_token(settings.workspace)}"
        self._subscriptions: dict[tuple[str, int], JetStreamContext.PullSubscription] = {}
        self._stream_born = 0
        self._consumer_born: dict[tuple[str, int], int] = {}

    @classmethod
    async def connect(
        cls, settings: JetStreamSettings, keys: Mapping[str, Sequence[str]]
    ) -> JetStreamTransport:
        """Connect, and create the stream (or bring its settings up to date).

        Args:
            settings: the server and the delivery rules.
            keys: each flow's key columns, by which its changes are partitioned.
        """
        with _carried(f"connect to {settings.url}"):
            client = await nats.connect(
                settings.url,
                connect_timeout=5,
                reconnect_time_wait=1,
                max_reconnect_attempts=_FIRST_CONNECT_ATTEMPTS,
                error_cb=_connection_trouble,
            )
        # Once connected, keep reconnecting however long the server is away (a restart, a
        # network cut): the stream keeps what was published, and the work resumes after.
        # nats-py has one setting for both; it reads it from `options` at each reconnect.
        client.options["max_reconnect_attempts"] = -1
        transport = cls(client, client.jetstream(), settings, keys)
        try:
            await transport._ensure_stream()
        except BaseException:
            await transport.close()
            raise
        return transport

    @property
    def partitions(self) -> int:
        """Partitions per flow."""
        return self._settings.partitions

    @property
    def stream(self) -> str:
        """The workspace's stream's name."""
        return self._stream

    @property
    def ack_wait_s(self) -> float:
        """How long a message may be held without a word before it goes to another worker."""
        return self._settings.ack_wait_s

    async def publish(
        self, flow: str, batch: ChangeBatch, change_id: str, *, most: int | None = None
    ) -> int:
        """Publish `batch` of `flow`, split by key into its partitions, and each partition's
        changes into messages of at most `most`; return how many of those messages the stream
        had not seen yet (0: all were duplicates of `change_id`)."""
        parts = split_by_partition(batch, self._keys[flow], self._settings.partitions)
        # The server refuses a message over its max_payload (1 MB by default): a piece too
        # big once encoded is halved until it fits, or it would wedge the relay for good.
        limit = self._client.max_payload - _HEADROOM
        fresh = 0
        for partition, part in parts.items():
            payloads = [p for piece in _pieces(part, most) for p in _encoded(piece, limit)]
            for number, payload in enumerate(payloads):
                message_id = f"{flow}:{change_id}:{partition}" + (f".{number}" if number else "")
                headers = {"Nats-Msg-Id": message_id, _CHANGE_ID: change_id}
                with _carried(f"publish to {flow}"):
                    ack = await self._js.publish(
                        self._subject(flow, partition),
                        payload,
                        stream=self._stream,
                        headers=headers,
                    )
                fresh += not ack.duplicate
        return fresh

    async def receive(self, flow: str, partition: int, *, wait_s: float = 1.0) -> Received | None:
        """The next message of `flow`'s `partition`, or None if none came within `wait_s`."""
        subscription = await self._subscription(flow, partition)
        try:
            with _carried(f"fetch from {flow}"):
                (message,) = await subscription.fetch(batch=1, timeout=wait_s)
        except TransportError as error:
            if isinstance(error.__cause__, nats.errors.TimeoutError):
                return None
            raise
        metadata = message.metadata
        born = self._consumer_born.get((flow, partition), 0)
        return Received(
            flow=flow,
            partition=partition,
            change_id=(message.headers or {}).get(_CHANGE_ID, ""),
            batch=decode_batch(message.data),
            attempt=metadata.num_delivered,
            sequence=metadata.sequence.stream,
            waiting_behind=metadata.num_pending or 0,
            _message=message,
            place=(self._stream_born, born, metadata.sequence.stream, metadata.num_delivered),
        )

    async def oldest_waiting(self, flow: str) -> float | None:
        """When the oldest change of `flow` still in the stream was seen at its source (Unix
        seconds), or None when the stream holds none of it."""
        with _carried(f"read the oldest of {flow}"):
            try:
                message = await self._js.get_msg(
                    self._stream, seq=1, subject=self._subject(flow, "*"), next=True
                )
            except nats.js.errors.NotFoundError:
                return None
        return decode_batch(message.data).observed_at if message.data else None

    async def pending(self, flow: str, partition: int) -> int:
        """Messages of the partition not yet acked (waiting, or held by a worker)."""
        subscription = await self._subscription(flow, partition)
        with _carried("consumer info"):
            info = await subscription.consumer_info()
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    async def delete_stream(self) -> None:
        """Delete the workspace's stream and everything in it (tests, or starting over)."""
        with _carried("delete the stream"), contextlib.suppress(nats.js.errors.NotFoundError):
            await self._js.delete_stream(self._stream)

    async def close(self) -> None:
        """Drain and close the connection."""
        for subscription in self._subscriptions.values():
            with contextlib.suppress(Exception):  # closing: nothing left to save
                await subscription.unsubscribe()
        with _carried("close"):
            await self._client.close()

    async def _ensure_stream(self) -> None:
        partitions = str(self._settings.partitions)
        config = StreamConfig(
            name=self._stream,
            subjects=[f"syncwell.{_token(self._settings.workspace)}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=self._settings.duplicate_window_s,
            description=f"syncwell workspace {self._settings.workspace}; partitions={partitions}",
        )
        with _carried("create the stream"):
            try:
                info = await self._js.stream_info(self._stream)
            except nats.js.errors.NotFoundError:
                made = await self._js.add_stream(config)
                self._stream_born = _micros(made.created)
                return
            self._stream_born = _micros(info.created)
            found = _PARTITIONS.search(info.config.description or "")
            kept = found.group(1) if found else partitions
            if kept != partitions:
                raise TransportError(
                    f"stream {self._stream} holds flows split into {kept} partitions, and this "
                    f"process would use {partitions}: a key's changes would land in two "
                    f"partitions and lose their order. Set `transport.partitions: {kept}` "
                    "back; to change it, stop intake, let the workers empty the stream, then "
                    "delete it (`syncwell transport reset`) and start with the new count"
                )
            await self._js.update_stream(config)

    async def _subscription(self, flow: str, partition: int) -> JetStreamContext.PullSubscription:
        found = self._subscriptions.get((flow, partition))
        if found is None:
            settings = self._settings
            durable = f"{_token(flow)}-{partition}"
            config = ConsumerConfig(
                durable_name=durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=settings.ack_wait_s,
                max_deliver=-1,  # never dropped unseen: the engine dead-letters what fails
                max_ack_pending=1,  # one change batch in flight: the partition stays in order
                filter_subject=self._subject(flow, partition),
            )
            with _carried(f"subscribe to {flow}"):
                await self._same_ack_wait(durable)
                made = await self._js.add_consumer(self._stream, config)
                found = await self._js.pull_subscribe_bind(durable, stream=self._stream)
            self._subscriptions[flow, partition] = found
            self._consumer_born[flow, partition] = _micros(made.created)
        return found

    async def _same_ack_wait(self, durable: str) -> None:
        """Refuse an `ack_wait_s` other than the one the partition's consumer has: adding the
        consumer again would change it for every worker, for good, and a worker of the other
        setting would then hold messages past the time after which they go to another."""
        try:
            info = await self._js.consumer_info(self._stream, durable)
        except nats.js.errors.NotFoundError:
            return
        kept = info.config.ack_wait
        wanted = self._settings.ack_wait_s
        if kept is not None and abs(kept - wanted) > 0.001:
            raise TransportError(
                f"the workers of stream {self._stream} deliver with `transport.ack_wait_s: "
                f"{kept:g}`, and this process would use {wanted:g}: set it back to {kept:g}; "
                "to change it, stop intake and every worker, let the stream empty, then "
                "delete it (`syncwell transport reset`) and start them all with the new value"
            )

    def _subject(self, flow: str, partition: int | str) -> str:
        return f"syncwell.{_token(self._settings.workspace)}.{_token(flow)}.{partition}"


async def _connection_trouble(error: Exception) -> None:
    """nats-py reports each failed (re)connect here; its default logs a traceback each time."""
    log.warning("NATS connection trouble", error=str(error) or type(error).__name__)


def _micros(created: datetime.datetime | None) -> int:
    """A creation time the server reported, in µs since the epoch (0 when it said none)."""
    return 0 if created is None else round(created.timestamp() * 1_000_000)


def _token(name: str) -> str:
    """`name` as one token of a subject or a stream name: as it is when it can be, else a
    stable digest (a dot, a space or a wildcard would change the subject's meaning)."""
    if _TOKEN.fullmatch(name):
        return name
    return "h" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


@contextlib.contextmanager
def _carried(what: str) -> Iterator[None]:
    """nats-py's errors as `TransportError`, saying what was being done."""
    try:
        yield
    except (nats.errors.Error, nats.js.errors.Error, OSError) as error:
        raise TransportError(f"NATS: {what} failed: {error!r}") from error


def _pieces(batch: ChangeBatch, most: int | None) -> list[ChangeBatch]:
    """`batch` in order, cut into batches of at most `most` changes."""
    size = len(batch)
    if most is None or size <= most:
        return [batch]
    return [batch.select(range(start, min(start + most, size))) for start in range(0, size, most)]


_HEADROOM = 4096
"""Bytes kept under the server's max_payload for a message's headers."""


def _encoded(batch: ChangeBatch, limit: int) -> list[bytes]:
    """`batch` encoded, in order, halved until each part is at most `limit` bytes (a single
    change larger than that stays whole: the server's refusal then names it)."""
    payload = encode_batch(batch)
    size = len(batch)
    if len(payload) <= limit or size < 2:
        return [payload]
    half = size // 2
    return [
        *_encoded(batch.select(range(half)), limit),
        *_encoded(batch.select(range(half, size)), limit),
    ]
