"""Expected failures, each said in one line with its fix instead of a traceback.

A port already taken, a state store that does not answer: every command meets them the same
way, so one place words them (`explain`), and the command class (cli/commands.py) prints the
line and exits 1. The words name only the options the command really has.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from syncwell.api.server import ListenError
from syncwell.errors import StoreError

__all__ = ["explain", "remember_workspace"]

# The workspace file the command loaded and the state URL it names, for the store's line.
_loaded: contextvars.ContextVar[tuple[Path, str] | None] = contextvars.ContextVar(
    "syncwell_cli_workspace", default=None
)


def remember_workspace(path: Path, state: str) -> None:
    """Note the workspace the command works on, so a store failure can name its `state:`."""
    _loaded.set((path, state))


def explain(error: BaseException, options: Mapping[str, tuple[str, object]]) -> str | None:
    """The one line for an expected failure, or None for one that is not expected.

    Args:
        error: what the command raised (an exception group of one is looked into).
        options: the command's options: parameter name -> (its flag, its value now).
    """
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, ListenError):
        return _listen_line(error, options)
    if isinstance(error, StoreError):
        return _store_line(error)
    return None


def _listen_line(error: ListenError, options: Mapping[str, tuple[str, object]]) -> str:
    if not error.in_use:  # the address is not this machine's, or no address at all
        line = f"cannot listen on {error.host}:{error.port}: {error.reason}"
        hosts = [flag for flag, value in options.values() if value == error.host]
        if hosts:
            return f"{line}: give {hosts[0]} an address of this machine (127.0.0.1, 0.0.0.0)"
        return line
    line = f"port {error.port} on {error.host} is in use (another syncwell, or another program)"
    ports = [flag for flag, value in options.values() if value == error.port]
    if ports:
        return f"{line}: pick another with {ports[0]} N"
    if "free_ports" in options:  # the demo's tools, on their fixed ports
        return f"{line}: --free-ports runs the tools on ports that are free"
    return line


def _store_line(error: StoreError) -> str:
    loaded = _loaded.get()
    if loaded is None:
        return f"state store: {error}"
    path, state = loaded
    where = f"state store {_shown(state)}"
    if _unreachable(error):
        return (
            f"{where} does not answer ({_reason(error)}): start its database, or point `state:` "
            f"in {path} at one that runs"
        )
    return f"{where}: {_driver_said(error)}; check `state:` in {path}"


def _driver_said(error: BaseException) -> str:
    """What the database itself said (`role "x" does not exist`), without SQLAlchemy's
    wrapping: its class name and a second line pointing at its web page."""
    for cause in _causes(error):
        if isinstance(cause, DBAPIError) and str(cause.orig).strip():
            return str(cause.orig).strip().splitlines()[0]
    return str(error).splitlines()[0]


def _shown(url: str) -> str:
    """The URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _unreachable(error: BaseException) -> bool:
    """Whether the store could not be reached at all (refused, timed out, no such host)."""
    return any(isinstance(cause, (OSError, TimeoutError)) for cause in _causes(error))


def _reason(error: BaseException) -> str:
    found = [cause for cause in _causes(error) if isinstance(cause, (OSError, TimeoutError))]
    last = found[-1]
    return (
        (last.strerror if isinstance(last, OSError) else None) or str(last) or type(last).__name__
    )


def _causes(error: BaseException) -> Iterable[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__
