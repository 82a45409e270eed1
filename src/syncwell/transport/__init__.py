"""How journal entries reach workers: in one process, the store's journal itself; across
machines, NATS JetStream (jetstream.py), partitioned by key so each key keeps its order."""

from __future__ import annotations

from syncwell.transport.jetstream import JetStreamSettings, JetStreamTransport, Received
from syncwell.transport.partitions import partition_of, split_by_partition
from syncwell.transport.workspace import connect_for

__all__ = [
    "JetStreamSettings",
    "JetStreamTransport",
    "Received",
    "connect_for",
    "partition_of",
    "split_by_partition",
]
