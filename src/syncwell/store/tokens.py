"""API tokens: stored hashed, revocable, every use recorded (`syncwell token`).

A token reads ``swt_<id>_<secret>``. Only a SHA-256 of the secret is kept: the secret is 32
random bytes, so a fast hash is as safe as a slow one (slow hashes are for guessable
passwords) and checking a token costs microseconds on every request.

A person logs in to the dashboard with a token once and gets a session of their own
(store/sessions.py); revoking a token ends its sessions in the same transaction. Failed
attempts, with a token or a session, are counted per client by the throttle
(store/throttle.py). Both hang off `Tokens`, so that whatever checks tokens has them.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.database import store_errors
from syncwell.store.schema import sessions, token_uses, tokens
from syncwell.store.sessions import Sessions
from syncwell.store.throttle import Throttle

__all__ = ["ROLES", "USES_KEPT_S", "Role", "Token", "Tokens"]

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
"""From least to most allowed: each role may do what the ones before it may."""

_PREFIX = "swt_"
_LARGEST_ID = 2**63 - 1
"""The largest id either store holds (SQLite's INTEGER, PostgreSQL's bigint)."""
USES_KEPT_S = 90 * 86400.0
"""How long a token's uses are kept: a dashboard tab open all day records thousands."""
_PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class Token:
    """A token as kept: never its secret."""

    id: int
    name: str
    role: Role
    created_at: float
    revoked_at: float | None
    last_used_at: float | None

    def allows(self, role: Role) -> bool:
        """Whether this token may act as `role`."""
        return ROLES.index(self.role) >= ROLES.index(role)


class Tokens:
    """Creates, checks, lists and revokes tokens; `sessions` are the logins made with them,
    `throttle` the failed attempts per client."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pruned_at = 0.0
        self.sessions = Sessions(engine)
        self.throttle = Throttle(engine)

    @store_errors
    async def create(self, role: Role, name: str = "") -> tuple[Token, str]:
        """A new token and its text, shown this once."""
        secret = secrets.token_urlsafe(32)
        now = time.time()
        async with self._engine.begin() as connection:
            result = await connection.execute(
                insert(tokens).values(
                    name=name, role=role, secret_hash=_hash(secret), created_at=now
                )
            )
        key = result.inserted_primary_key
        assert key is not None
        token = Token(int(key[0]), name, role, now, None, None)
        return token, f"{_PREFIX}{token.id}_{secret}"

    @store_errors
    async def check(self, presented: str, *, method: str, path: str) -> Token | None:
        """The live token `presented` is, or None; either way the attempt is recorded."""
        found = await self._find(presented)
        await self._record(found, method, path)
        return found

    @store_errors
    async def check_session(self, secret: str, *, method: str, path: str) -> Token | None:
        """The live token whose live session `secret` is, or None; either way the attempt is
        recorded, as the token's use."""
        seen = await self.sessions.find(secret)
        found = None
        if seen is not None:
            async with self._engine.connect() as connection:
                row = (
                    (await connection.execute(select(tokens).where(tokens.c.id == seen.token_id)))
                    .mappings()
                    .first()
                )
            if row is not None and row["revoked_at"] is None:
                found = _token(row)
        await self._record(found, method, path)
        return found

    async def _record(self, found: Token | None, method: str, path: str) -> None:
        now = time.time()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(token_uses).values(
                    token_id=found.id if found else None,
                    at=now,
                    method=method,
                    path=path[:500],
                    accepted=found is not None,
                )
            )
            if found is not None:
                await connection.execute(
                    update(tokens).where(tokens.c.id == found.id).values(last_used_at=now)
                )
            if now - self._pruned_at >= _PRUNE_EVERY_S:
                self._pruned_at = now
                await connection.execute(
                    delete(token_uses).where(token_uses.c.at < now - USES_KEPT_S)
                )

    async def _find(self, presented: str) -> Token | None:
        token_id, secret = _parse(presented)
        if token_id is None:
            return None
        async with self._engine.connect() as connection:
            row = (
                (await connection.execute(select(tokens).where(tokens.c.id == token_id)))
                .mappings()
                .first()
            )
        if row is None or row["revoked_at"] is not None:
            return None
        if not hmac.compare_digest(str(row["secret_hash"]), _hash(secret)):
            return None
        return _token(row)

    @store_errors
    async def list(self) -> builtins.list[Token]:
        """Every token, revoked ones too, oldest first."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(tokens).order_by(tokens.c.id))).mappings()
            return [_token(row) for row in rows]

    @store_errors
    async def revoke(self, token_id: int) -> bool:
        """Revoke a token and end its sessions; False when there is no such live token."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
                .returning(tokens.c.id)
            )
            await connection.execute(delete(sessions).where(sessions.c.token_id == token_id))
            return bool(result.scalars().all())

    @store_errors
    async def uses(
        self, token_id: int | None = None, limit: int = 100
    ) -> builtins.list[dict[str, object]]:
        """The newest recorded uses (of one token, or all attempts), newest first."""
        query = select(token_uses).order_by(token_uses.c.id.desc()).limit(limit)
        if token_id is not None:
            query = query.where(token_uses.c.token_id == token_id)
        async with self._engine.connect() as connection:
            return [dict(row) for row in (await connection.execute(query)).mappings()]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _parse(presented: str) -> tuple[int | None, str]:
    if not presented.startswith(_PREFIX):
        return None, ""
    number, _, secret = presented[len(_PREFIX) :].partition("_")
    if not number.isascii() or not number.isdigit() or not secret:
        return None, ""
    token_id = int(number)
    if token_id > _LARGEST_ID:
        return None, ""  # no such token; asked for, it overflows the store's integer
    return token_id, secret


def _token(row: object) -> Token:
    values = dict(row)  # type: ignore[call-overload]
    return Token(
        int(values["id"]),
        str(values["name"]),
        values["role"],
        float(values["created_at"]),
        values["revoked_at"],
        values["last_used_at"],
    )
