"""The PostgreSQL state store's connections: named for operators, and never used again once the
server ended them.

A backend ended while its connection sat idle in the pool (`pg_terminate_backend`, a restart,
an idle timeout) sends a FATAL error and closes the socket. asyncpg reads the error first, with
no operation to give it to, and puts the connection into its error-consuming state; the close
arrives a turn of the event loop later. A query in between finds "another operation (2) is in
progress", and SQLAlchemy, which asks asyncpg whether the connection is closed, is told it is
not: the pool kept the dead connection and handed it to the next operation, including to its own
pre-ping, which then failed the operation instead of replacing the connection.

So such errors count as disconnects here: the pool drops the connection (and those opened
before it, which the same restart ended too), and a pre-ping opens a fresh one in its place.
"""

from __future__ import annotations

import asyncpg
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

__all__ = ["APPLICATION_NAME", "connect_args", "drop_ended_connections", "ended_by_server"]

APPLICATION_NAME = "syncwell-state"
"""`application_name` of the state store's connections, as `pg_stat_activity` shows them."""

# SQLSTATEs of a connection the server ended: it does not exist or failed (class 08, not the
# refusals to connect), an operator's or a crash's shutdown (class 57).
_ENDED_STATES = ("08003", "08006", "57P01", "57P02")
# asyncpg's word for it, and the socket's when the other end went away (not a refused connect:
# that connection never began).
_ENDED = (
    asyncpg.ConnectionDoesNotExistError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
)


def connect_args() -> dict[str, object]:
    """asyncpg's connect arguments for the state store's connections."""
    return {"server_settings": {"application_name": APPLICATION_NAME}}


def ended_by_server(error: BaseException | None) -> bool:
    """Whether `error` (asyncpg's, under SQLAlchemy's wrapping) says the server ended the
    connection, or that asyncpg is still consuming the error it ended it with (its state 2,
    PROTOCOL_ERROR_CONSUME: no other operation, since the pool lends a connection to one)."""
    while error is not None:
        if isinstance(error, _ENDED):
            return True
        if isinstance(error, asyncpg.InternalClientError) and (
            "another operation (2)" in str(error) or '"failed" state' in str(error)
        ):
            return True
        state = getattr(error, "sqlstate", None)
        if state in _ENDED_STATES:
            return True
        error = error.__cause__
    return False


def _mark_ended(context: ExceptionContext) -> None:
    if not context.is_disconnect and ended_by_server(context.original_exception):
        context.is_disconnect = True


def drop_ended_connections(engine: Engine) -> None:
    """Have the pool of PostgreSQL `engine` drop a connection the server ended (this module's
    docstring says why SQLAlchemy does not see it by itself)."""
    event.listen(engine, "handle_error", _mark_ended)
