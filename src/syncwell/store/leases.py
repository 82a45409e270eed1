"""Partition leases: which worker may write a flow's partition now, and the epoch (fencing
token) its writes carry (DESIGN.md: a lease without a fence is a hope).

The stream lets one message of a partition be in flight at a time, but a worker frozen past
``ack_wait_s`` (SIGSTOP, a long GC pause, a VM stall) does not know the stream gave its
message to another. So each worker takes the partition's lease when a message reaches it,
and the take is a compare-and-set on the message's place: the stream's incarnation, the
consumer's, the message's stream sequence, then how often it was delivered. A redelivered
message, or a later message of the partition, is newer; a message older than the one the
lease was last taken for is stale, and its worker is refused. Each take bumps the epoch; the
delivery's record transaction checks it (`check_lease`), and so does the writer just before
it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from syncwell.errors import StoreError
from syncwell.store.database import store_errors
from syncwell.store.schema import metadata

__all__ = ["Claim", "Lease", "LeaseLostError", "Leases", "check_lease", "partition_leases"]

partition_leases = Table(
    "partition_leases",
    metadata,
    Column("stream", String(200), primary_key=True, doc="the transport's stream"),
    Column("flow", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("stream_born", BigInteger, nullable=False, doc="the stream's creation, µs"),
    Column("consumer_born", BigInteger, nullable=False, doc="the consumer's creation, µs"),
    Column("sequence", BigInteger, nullable=False, doc="stream sequence of the message"),
    Column("delivered", BigInteger, nullable=False, doc="its delivery count"),
    Column("epoch", BigInteger, nullable=False, doc="bumped by each take: the fencing token"),
    Column("holder", String(200), nullable=False, doc="the worker that took it last"),
    Column("taken_at", Float, nullable=False),
    Column("fenced", BigInteger, nullable=False, doc="stale batches refused, ever"),
)
"""Per (stream, flow, partition): the message the lease was last taken for, and its epoch."""

_PLACE = ("stream_born", "consumer_born", "sequence", "delivered")


@dataclass(frozen=True, slots=True, order=True)
class Claim:
    """A received message's place, oldest first when compared: a later incarnation of the
    stream or of its consumer, a later message, or a later delivery of the same one."""

    stream_born: int
    consumer_born: int
    sequence: int
    delivered: int


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's hold on a partition for one message: its writes carry `epoch`."""

    stream: str
    flow: str
    partition: int
    epoch: int
    claim: Claim


class LeaseLostError(StoreError):
    """A worker's batch is stale: the partition's lease passed to a newer holder, or may
    have. Nothing failed but the time; the batch must not be written, recorded or
    acknowledged."""

    def __init__(
        self, flow: str, partition: int, claim: Claim, why: str, *, written: bool = False
    ) -> None:
        self.flow, self.partition, self.claim, self.why = flow, partition, claim, why
        self.written = written
        done = (
            "it was written before that was found, and is neither recorded nor acknowledged"
            if written
            else "it was not written, recorded or acknowledged"
        )
        super().__init__(
            f"flow {flow}, partition {partition}: refused a stale batch (stream sequence "
            f"{claim.sequence}, delivery {claim.delivered}): {why}; {done}; the worker that "
            "holds the partition now delivers it"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (_lease_lost, (self.flow, self.partition, self.claim, self.why, self.written))


def _lease_lost(flow: str, partition: int, claim: Claim, why: str, written: bool) -> LeaseLostError:
    return LeaseLostError(flow, partition, claim, why, written=written)


class Leases:
    """Takes, checks and counts partition leases."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @store_errors
    async def take(
        self, stream: str, flow: str, partition: int, claim: Claim, holder: str, now: float
    ) -> Lease | None:
        """Take the partition's lease for the message at `claim`, bumping the epoch; None
        when the lease was taken already for this message or a newer one (then the message
        is stale, and the refusal is counted)."""
        for _ in range(2):  # two first takes at once: one inserts, the other updates after
            try:
                return await self._take_once(stream, flow, partition, claim, holder, now)
            except IntegrityError:
                continue
        raise StoreError(f"flow {flow}, partition {partition}: could not take the lease")

    async def _take_once(
        self, stream: str, flow: str, partition: int, claim: Claim, holder: str, now: float
    ) -> Lease | None:
        place = {name: getattr(claim, name) for name in _PLACE}
        table = partition_leases.c
        key = (table.stream == stream, table.flow == flow, table.partition == partition)
        older = tuple_(*(table[name] for name in _PLACE)) < tuple_(*place.values())
        async with self._engine.begin() as connection:
            moved = await connection.execute(
                update(partition_leases)
                .where(*key, older)
                .values(epoch=table.epoch + 1, holder=holder, taken_at=now, **place)
            )
            found = (
                await connection.execute(
                    select(table.epoch, table.holder, *(table[name] for name in _PLACE)).where(*key)
                )
            ).first()
            epoch = None if found is None else found[0]
            if moved.rowcount and epoch is not None:
                return Lease(stream, flow, partition, int(epoch), claim)
            if (
                found is not None
                and found[1] == holder
                and tuple(found[2:]) == tuple(place.values())
            ):
                # This worker's own take of this message, whose answer was lost (the store
                # failed after its commit): still its lease, not a stale batch.
                return Lease(stream, flow, partition, int(found[0]), claim)
            if epoch is not None:
                await connection.execute(
                    update(partition_leases).where(*key).values(fenced=table.fenced + 1)
                )
                return None
            await connection.execute(
                insert(partition_leases).values(
                    stream=stream,
                    flow=flow,
                    partition=partition,
                    epoch=1,
                    holder=holder,
                    taken_at=now,
                    fenced=0,
                    **place,
                )
            )
        return Lease(stream, flow, partition, 1, claim)

    @store_errors
    async def check(self, lease: Lease) -> None:
        """Raise `LeaseLostError` unless `lease` is still the partition's newest."""
        async with self._engine.begin() as connection:
            await check_lease(connection, lease)

    @store_errors
    async def count_fenced(self, lease: Lease) -> None:
        """Count a stale batch refused under `lease` (after the transaction that found it
        stale rolled back: it held the row)."""
        table = partition_leases.c
        async with self._engine.begin() as connection:
            await connection.execute(
                update(partition_leases).where(*_key(lease)).values(fenced=table.fenced + 1)
            )

    @store_errors
    async def fenced(self) -> dict[str, int]:
        """Stale batches refused per flow, over every partition, ever."""
        table = partition_leases.c
        query = select(table.flow, func.sum(table.fenced)).group_by(table.flow)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {flow: int(count or 0) for flow, count in rows}


async def check_lease(connection: AsyncConnection, lease: Lease) -> None:
    """In the caller's transaction: raise `LeaseLostError` unless `lease` still holds. The row
    stays locked (PostgreSQL) until the transaction ends, so no take slips in between the
    check and what the transaction then commits."""
    current = await connection.scalar(
        select(partition_leases.c.epoch).where(*_key(lease)).with_for_update()
    )
    if current != lease.epoch:
        why = (
            f"another worker took the partition over (lease epoch {current}, this "
            f"worker's {lease.epoch})"
        )
        raise LeaseLostError(lease.flow, lease.partition, lease.claim, why)


def _key(lease: Lease) -> tuple[ColumnElement[bool], ...]:
    table = partition_leases.c
    return (
        table.stream == lease.stream,
        table.flow == lease.flow,
        table.partition == lease.partition,
    )
