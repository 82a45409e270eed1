"""The CDC benchmark's tables and its paced write load.

The source table `events` gets `rate` changes a second, half new rows and half updates of
rows already there (`update_share`), `per_tx` changes to a transaction, each transaction one
upsert statement. Every change carries a version `v` (1 for a new row, one more for each
update), so a change is named by (id, v). The time each transaction's COMMIT returned is kept
per change, on this machine's clock; the destination's statement triggers note, on the same
clock, when each (id, v) was written there (one INSERT ... SELECT per statement syncwell
runs, over its transition table, so the measuring costs little). Latency is the difference.

Several writers share the schedule (transaction i is due at start + i / transactions per
second), each owning the keys id % writers == its number, so no two transactions race on a
key and the versions of a key commit in order. A writer behind schedule sends at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field

import asyncpg

__all__ = ["SOURCE_TABLE", "TARGET_TABLE", "Load", "Written"]

SOURCE_TABLE = """
CREATE TABLE events (
    id bigint PRIMARY KEY,
    v bigint NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    score integer NOT NULL,
    note text NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX events_updated_at ON events (updated_at, id);
ALTER TABLE events REPLICA IDENTITY FULL;
INSERT INTO events
SELECT g, 1, 'name ' || g, 'user' || g || '@example.com', g % 100, repeat('x', 160),
       clock_timestamp()
FROM generate_series(1, {seed}) AS g;
"""

TARGET_TABLE = """
CREATE TABLE events (
    id bigint PRIMARY KEY,
    v bigint NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    score integer NOT NULL,
    note text NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNLOGGED TABLE arrivals (id bigint NOT NULL, v bigint NOT NULL,
                                at timestamptz NOT NULL);
CREATE FUNCTION note_arrivals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO arrivals SELECT id, v, clock_timestamp() FROM arrived;
    RETURN NULL;
END $$;
CREATE TRIGGER events_inserted AFTER INSERT ON events REFERENCING NEW TABLE AS arrived
FOR EACH STATEMENT EXECUTE FUNCTION note_arrivals();
CREATE TRIGGER events_updated AFTER UPDATE ON events REFERENCING NEW TABLE AS arrived
FOR EACH STATEMENT EXECUTE FUNCTION note_arrivals();
"""

_UPSERT = """
INSERT INTO events AS e (id, v, name, email, score, note, updated_at)
SELECT u.id, u.v, 'name ' || u.id, 'user' || u.id || '@example.com', (u.v % 100)::int,
       $3, clock_timestamp()
FROM unnest($1::bigint[], $2::bigint[]) AS u(id, v)
ON CONFLICT (id) DO UPDATE
SET v = excluded.v, score = excluded.score, note = excluded.note,
    updated_at = excluded.updated_at
"""


@dataclass(slots=True)
class Written:
    """What the load committed."""

    committed: dict[tuple[int, int], float] = field(default_factory=dict)
    """(id, v) -> Unix time its COMMIT returned."""
    final: dict[int, int] = field(default_factory=dict)
    """id -> its last version, for keys the load wrote."""
    started: float = 0.0
    ended: float = 0.0
    late_s: float = 0.0
    """How far behind its schedule the latest transaction was sent."""

    @property
    def rate(self) -> float:
        """Changes committed a second."""
        return len(self.committed) / max(self.ended - self.started, 1e-9)


@dataclass(slots=True)
class _Keys:
    """One writer's keys: ids w, w + n, w + 2n, ...; the next new one and each one's version."""

    next_id: int
    step: int
    versions: dict[int, int]
    ids: list[int]


class Load:
    """Writes `rate` changes a second to `events` at `dsn` for `seconds`.

    Args:
        dsn: the source database.
        seed: rows the table starts with (ids 1..seed, version 1).
        per_tx: changes per transaction.
        update_share: the share of changes that update an existing row.
        writers: connections writing at once.
    """

    def __init__(self, dsn: str, seed: int, per_tx: int, update_share: float, writers: int) -> None:
        self._dsn = dsn
        self._seed = seed
        self._per_tx = per_tx
        self._update_share = update_share
        self._writers = writers

    async def run(self, rate: float, seconds: float) -> Written:
        """Write at `rate` changes/s for `seconds`; what was committed, when."""
        written = Written()
        per_s = rate / self._per_tx
        count = int(per_s * seconds)
        connections = [await asyncpg.connect(self._dsn) for _ in range(self._writers)]
        try:
            written.started = time.time()
            start = time.monotonic()
            await asyncio.gather(
                *(
                    self._write(connection, number, start, per_s, count, written)
                    for number, connection in enumerate(connections)
                )
            )
            written.ended = time.time()
        finally:
            for connection in connections:
                await connection.close()
        return written

    def _keys(self, number: int) -> _Keys:
        first_new = self._seed + 1
        first_new += (number - first_new) % self._writers  # the first new id of this writer
        owned = range(number or self._writers, self._seed + 1, self._writers)
        return _Keys(first_new, self._writers, dict.fromkeys(owned, 1), list(owned))

    async def _write(
        self,
        connection: asyncpg.Connection,
        number: int,
        start: float,
        per_s: float,
        count: int,
        written: Written,
    ) -> None:
        rng = random.Random(number)  # a workload's choices, not security
        keys = self._keys(number)
        note = "y" * 160
        updates = round(self._per_tx * self._update_share)
        for index in range(number, count, self._writers):
            due = start + index / per_s
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                written.late_s = max(written.late_s, -wait)
            picks = rng.sample(range(len(keys.ids)), min(updates, len(keys.ids)))
            ids = [keys.ids[pick] for pick in picks]
            while len(ids) < self._per_tx:
                ids.append(keys.next_id)
                keys.ids.append(keys.next_id)
                keys.next_id += keys.step
            versions = [keys.versions.get(key, 0) + 1 for key in ids]
            await connection.execute(_UPSERT, ids, versions, note)
            committed = time.time()
            for key, version in zip(ids, versions, strict=True):
                keys.versions[key] = version
                written.committed[key, version] = committed
                written.final[key] = version
