"""asyncpg's exceptions, translated into syncwell's at the connector boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from syncwell.errors import (
    IntegrationFatalError,
    RecordRejectedError,
    TimedOutError,
    TransientError,
)

__all__ = ["translated"]

# SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
# data exception, integrity violation, cardinality (21000), program limit such as an index row
# too large (54000), and an exception raised by the destination's own trigger (P0001).
_REJECTED_CLASSES = ("21", "22", "23", "54", "P0")
_TRANSIENT_CLASSES = ("08", "40", "53", "55", "57")  # connection, rollback, resources, state,
# operator intervention (57014 is a statement timeout; 57P01 an admin shutdown)
_FATAL_CLASSES = ("28", "42", "3D", "3F")  # auth, undefined object or privilege, no database
_FIXES = {
    # A table dropped while the flow runs (a missing one at the start is named by the catalog).
    "42P01": "create it or fix the flow's stream/target in syncwell.yaml",
}


@contextmanager
def translated(system: str, flow: str = "") -> Iterator[None]:
    """Raise syncwell's errors for whatever asyncpg or the network raise inside."""
    try:
        yield
    except asyncpg.PostgresError as error:
        state = str(getattr(error, "sqlstate", "") or "")
        message = _short(f"{type(error).__name__} ({state}): {error}")
        if state.startswith(_REJECTED_CLASSES):
            raise RecordRejectedError(
                message, system=system, flow=flow, reason=_short(str(error))
            ) from error
        if state.startswith(_TRANSIENT_CLASSES):
            raise TransientError(message, system=system, flow=flow) from error
        if state.startswith(_FATAL_CLASSES):
            fix = _FIXES.get(state)
            message = f"{message}; {fix}" if fix else message
            raise IntegrationFatalError(message, system=system, flow=flow) from error
        raise TransientError(message, system=system, flow=flow) from error
    except (asyncpg.DataError, TypeError, ValueError, OverflowError) as error:
        # Raised while encoding a value for the wire (text for an int column, an int past
        # int32): the record does not fit the destination; splitting the batch finds it.
        message = _short(f"{type(error).__name__}: {error}")
        raise RecordRejectedError(message, system=system, flow=flow, reason=message) from error
    except TimeoutError as error:
        raise TimedOutError(
            _short(f"no answer in time: {error or type(error).__name__}"), system=system, flow=flow
        ) from error
    except asyncpg.InternalClientError as error:
        # asyncpg's state after the FATAL error of a connection the server ended while idle in
        # the pool ("another operation (2) is in progress"): the pool replaces it on release.
        raise TransientError(
            "the server ended the connection while it waited in the pool "
            f"({type(error).__name__}: {_short(str(error), 200)})",
            system=system,
            flow=flow,
        ) from error
    except (OSError, asyncpg.InterfaceError) as error:
        raise TransientError(
            _short(f"{type(error).__name__}: {error}"), system=system, flow=flow
        ) from error


def _short(text: str, limit: int = 600) -> str:
    """An error's text, cut so a driver that quotes a whole batch cannot flood the logs."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more chars)"
