"""Failed logins and tokens per client, so that guessing is slowed down by every process.

A client that fails `ThrottlePolicy.failures` times within `ThrottlePolicy.window_s` of its
first failure must wait until that window ends: every attempt of its then gets 429, a right
token too (else the guessing would go on, with the right guess telling itself apart). A
success resets nothing, so a client holding one valid token cannot interleave it to keep
guessing at others; another client's failures never count against this one.

The counts live in a table of the state store, one row per failing client, changed by one
atomic insert-or-update: `syncwell run`, `syncwell serve` and workers sharing a PostgreSQL
store agree on who waits. Rows of windows that ended are pruned, so the table holds at most
the clients that failed in the last window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import auth_failures

__all__ = ["Throttle", "ThrottlePolicy"]

_PRUNE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures a client may have, and over how long.

    Attributes:
        failures: failed attempts a client may make in a window; the next waits for its end.
        window_s: seconds from a client's first failure that its failures count together.
    """

    failures: int = 10
    window_s: float = 60.0


class Throttle:
    """Counts clients' failed attempts in the store and says how long one must wait.

    Args:
        engine: the store's database engine.
        policy: how many failures, over how long.
        wall: Unix seconds now (tests pass a fake clock's).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        policy: ThrottlePolicy | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.policy = policy or ThrottlePolicy()
        self._wall = wall
        self._pruned_at = 0.0

    @store_errors
    async def wait_s(self, client: str) -> int:
        """Whole seconds `client` must wait before its next attempt is checked; 0: none."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(auth_failures.c.window_start, auth_failures.c.failures).where(
                        auth_failures.c.client == client
                    )
                )
            ).first()
        if row is None or int(row.failures) < self.policy.failures:
            return 0
        left = float(row.window_start) + self.policy.window_s - self._wall()
        return math.ceil(left) if left > 0 else 0

    @store_errors
    async def failed(self, client: str) -> int:
        """Count a failed attempt of `client`; its failures in the current window."""
        now = self._wall()
        window_ended = auth_failures.c.window_start <= now - self.policy.window_s
        async with self._engine.begin() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(auth_failures).values(
                client=client, window_start=now, failures=1
            )
            # One statement, so that two processes counting the same client at once both
            # count: the row's lock (PostgreSQL) or the database's (SQLite) orders them.
            statement = statement.on_conflict_do_update(
                index_elements=[auth_failures.c.client],
                set_={
                    "window_start": case((window_ended, now), else_=auth_failures.c.window_start),
                    "failures": case((window_ended, 1), else_=auth_failures.c.failures + 1),
                },
            ).returning(auth_failures.c.failures)
            failures = int((await connection.execute(statement)).scalar_one())
            if now - self._pruned_at >= _PRUNE_EVERY_S:
                self._pruned_at = now
                await connection.execute(delete(auth_failures).where(window_ended))
        return failures

    @store_errors
    async def clients(self) -> int:
        """How many clients have a row: failures in a window not yet pruned."""
        async with self._engine.connect() as connection:
            return len((await connection.execute(select(auth_failures.c.client))).all())
