"""The whole exception tree of syncwell.

The engine decides what to do by an exception's class, never by its message::

    SyncwellError
    ├── WorkspaceError(path, line, key)        bad syncwell.yaml: exit 2 with the fix, never retried
    ├── ConnectorError(system, flow)           its class tells the engine what to do:
    │   ├── TransientError(retry_after)        timeout, connection, 5xx -> back off and retry
    │   │   ├── RateLimitedError               429; retry_after read from the headers
    │   │   ├── ServerError(status)            it answered with an error (500): up, but failing;
    │   │   │                                  one record it always fails on is set aside
    │   │   └── TimedOutError                  no answer in time; counted apart from the rest
    │   ├── RecordRejectedError(key, reason)   one record is bad -> dead-letter it, keep the rest
    │   └── IntegrationFatalError              credentials revoked, object gone -> breaker, incident
    │       └── MisconfiguredError             the workspace does not fit the system: the user's fix
    ├── StoreError                             the store failed: retry later (a webhook gets a 503)
    │   └── StoreRefusedError                  the store cannot keep this data: refuse it alone
    └── TransportError

Every exception keeps its fields and builds its message from them, and pickles: it may cross a
process boundary (a worker reporting to a supervisor).
"""

from __future__ import annotations

__all__ = [
    "ConnectorError",
    "IntegrationFatalError",
    "MisconfiguredError",
    "RateLimitedError",
    "RecordMissingError",
    "RecordRejectedError",
    "ServerError",
    "StoreError",
    "StoreRefusedError",
    "SyncwellError",
    "TimedOutError",
    "TransientError",
    "TransportError",
    "WorkspaceError",
]


class SyncwellError(Exception):
    """The root of every error syncwell raises on purpose."""


class WorkspaceError(SyncwellError):
    """The workspace file is wrong; the message says where and how to fix it.

    Args:
        message: what is wrong and the fix, in a sentence or two.
        path: the workspace file.
        line: 1-based line of the offending value, when known.
        key: dotted path to the field (``flows.contacts.interval``), when known.
    """

    def __init__(
        self, message: str, *, path: str = "", line: int | None = None, key: str = ""
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<workspace>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        field = f" [{self.key}]" if self.key else ""
        return f"{where}:{field} {self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_workspace_error, (self.message, self.path, self.line, self.key))


def _rebuild_workspace_error(message: str, path: str, line: int | None, key: str) -> WorkspaceError:
    return WorkspaceError(message, path=path, line=line, key=key)


class ConnectorError(SyncwellError):
    """A connector failed; the subclass tells the engine what to do next.

    Args:
        message: what happened, in the connector's words.
        system: the system the connector talks to.
        flow: the flow being read or written, when known.
    """

    def __init__(self, message: str, *, system: str = "", flow: str = "") -> None:
        self.message = message
        self.system = system
        self.flow = flow
        super().__init__(str(self))

    def __str__(self) -> str:
        scope = "/".join(part for part in (self.system, self.flow) if part)
        return f"{scope}: {self.message}" if scope else self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self._extra()))

    def _extra(self) -> dict[str, object]:
        return {"system": self.system, "flow": self.flow}


def _rebuild(cls: type[ConnectorError], message: str, extra: dict[str, object]) -> ConnectorError:
    return cls(message, **extra)  # type: ignore[arg-type]


class TransientError(ConnectorError):
    """A failure that may pass: timeout, dropped connection, 5xx. Back off and retry.

    Args:
        retry_after: seconds the other side asked us to wait, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        flow: str = "",
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, system=system, flow=flow)

    def _extra(self) -> dict[str, object]:
        return {**super()._extra(), "retry_after": self.retry_after}


class RateLimitedError(TransientError):
    """The other side said 429 (or its equivalent); ``retry_after`` came from its headers."""


class ServerError(TransientError):
    """The other side answered, with an error of its own (a 500): it is up, but failed.

    Retried like any transient error. When a batch runs out of attempts on one, the engine
    halves it: if the system takes the other records and keeps failing one alone, that record
    is poison (a bug of the tool on it) and goes to the dead letters, so the flow moves on.
    A connection failure, a timeout, a 429 or a 502/503/504 (the system or the proxy in front
    of it is down or busy) is never a ServerError: those hand the batch back.

    Args:
        status: the status code it answered with.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        flow: str = "",
        retry_after: float | None = None,
        status: int = 500,
    ) -> None:
        self.status = status
        super().__init__(message, system=system, flow=flow, retry_after=retry_after)

    def _extra(self) -> dict[str, object]:
        return {**super()._extra(), "status": self.status}


class TimedOutError(TransientError):
    """No answer in time. Retried like any transient error, but counted apart: a tool that
    answers slowly is a different problem from one that answers with errors."""


class RecordRejectedError(ConnectorError):
    """The destination refused a record for good; it goes to the dead letters.

    Args:
        key: the record's key, when the connector could tell which record it was. Without a
            key the engine splits the batch until it finds the record.
        reason: why it was refused, in the destination's words.
    """

    def __init__(
        self,
        message: str,
        *,
        system: str = "",
        flow: str = "",
        key: str | None = None,
        reason: str = "",
    ) -> None:
        self.key = key
        self.reason = reason or message
        super().__init__(message, system=system, flow=flow)

    def _extra(self) -> dict[str, object]:
        return {**super()._extra(), "key": self.key, "reason": self.reason}


class RecordMissingError(RecordRejectedError):
    """The record a change updates is missing in the destination (deleted there): a 404 or
    410 at its own URL. The flow's `missing:` policy decides: dead-letter, recreate, or drop."""


class IntegrationFatalError(ConnectorError):
    """The integration cannot work until a person acts (credentials revoked, table gone)."""


class MisconfiguredError(IntegrationFatalError):
    """The workspace does not fit the system it names: a key column that allows NULL, a
    column or table the system lacks, no unique index for the key, a base_url that is no URL.
    The engine treats it as fatal; it is told apart so that the analysis can name it as the
    user's mistake, not the tool's failure."""


class StoreError(SyncwellError):
    """The state store failed or holds something this version cannot read."""


class StoreRefusedError(StoreError):
    """The store refused the data itself (too long, a NUL in text, a broken constraint):
    trying again will not help, and other data committed with it must not share its fate."""


class TransportError(SyncwellError):
    """A transport could not carry journal entries to workers."""
