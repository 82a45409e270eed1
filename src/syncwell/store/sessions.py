"""Dashboard sessions: a login's own secret, short-lived and revocable, never the API token.

Logging in with a token opens a session: 32 random bytes the browser keeps in its cookie,
of which only a SHA-256 is stored, with the token it belongs to and that token's role. A
session ends at the first of: logging out (its row is deleted), the token revoked (every row
of the token is deleted, and a session whose token is revoked is refused regardless), no use
for `SessionPolicy.idle_s`, or `SessionPolicy.absolute_s` after login. A stolen cookie is
therefore worth at most one session, and ends with it; the token itself never travels in a
cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import sessions, tokens

__all__ = ["SessionPolicy", "SessionSeen", "Sessions"]

_PREFIX = "sws_"
_SEEN_EVERY_S = 60.0
"""How stale `last_seen_at` may get before a use writes it: a dashboard tab refreshes every
10 s, and a write per refresh would buy an idle limit exact to the second, which none needs."""
_PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lasts.

    Attributes:
        idle_s: it ends after this long unused (12 h: an abandoned browser is logged out
            overnight; an open dashboard tab keeps it alive by refreshing).
        absolute_s: it ends this long after login however active (7 days: a wall screen
            logs in again weekly, and a stolen cookie is worth a week at most).
    """

    idle_s: float = 12 * 3600.0
    absolute_s: float = 7 * 86400.0


@dataclass(frozen=True, slots=True)
class SessionSeen:
    """A live session, as a request finds it: whose it is, never its secret."""

    token_id: int
    role: str
    expires_at: float


class Sessions:
    """Opens, finds and ends sessions.

    Args:
        engine: the store's database engine.
        policy: the sessions' lifetimes.
        wall: Unix seconds now (tests pass a fake clock's).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        policy: SessionPolicy | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.policy = policy or SessionPolicy()
        self._wall = wall
        self._pruned_at = 0.0

    @store_errors
    async def open(self, token_id: int, role: str) -> str:
        """A new session of the token `token_id`: its secret, for the cookie only."""
        secret = _PREFIX + secrets.token_urlsafe(32)
        now = self._wall()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(sessions).values(
                    secret_hash=_hash(secret),
                    token_id=token_id,
                    role=role,
                    created_at=now,
                    expires_at=now + self.policy.absolute_s,
                    last_seen_at=now,
                )
            )
            if now - self._pruned_at >= _PRUNE_EVERY_S:
                self._pruned_at = now
                await connection.execute(
                    delete(sessions).where(
                        (sessions.c.expires_at <= now)
                        | (sessions.c.last_seen_at <= now - self.policy.idle_s)
                    )
                )
        return secret

    @store_errors
    async def find(self, secret: str) -> SessionSeen | None:
        """The live session whose secret is `secret`, or None (unknown, ended, expired, or its
        token revoked). Finding it counts as a use."""
        if not secret.startswith(_PREFIX):
            return None  # an API token, or anything else, is never a session
        hashed = _hash(secret)
        now = self._wall()
        async with self._engine.begin() as connection:
            row = (
                (
                    await connection.execute(
                        select(sessions)
                        .join(tokens, tokens.c.id == sessions.c.token_id)
                        .where(sessions.c.secret_hash == hashed, tokens.c.revoked_at.is_(None))
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            idle_end = float(row["last_seen_at"]) + self.policy.idle_s
            if now >= float(row["expires_at"]) or now >= idle_end:
                await connection.execute(delete(sessions).where(sessions.c.secret_hash == hashed))
                return None
            if now - float(row["last_seen_at"]) >= _SEEN_EVERY_S:
                await connection.execute(
                    update(sessions)
                    .where(sessions.c.secret_hash == hashed)
                    .values(last_seen_at=now)
                )
        return SessionSeen(int(row["token_id"]), str(row["role"]), float(row["expires_at"]))

    @store_errors
    async def end(self, secret: str) -> bool:
        """End the session `secret` (logging out); False when there was no such session."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(sessions)
                .where(sessions.c.secret_hash == _hash(secret))
                .returning(sessions.c.secret_hash)
            )
            return bool(result.scalars().all())

    @store_errors
    async def count(self, token_id: int) -> int:
        """How many sessions of the token `token_id` are kept (live or not yet pruned)."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(sessions.c.secret_hash).where(sessions.c.token_id == token_id)
            )
            return len(rows.all())


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
