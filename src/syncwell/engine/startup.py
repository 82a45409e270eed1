"""Opening the systems a run's flows read and write, and opening again while one is down.

A run opens each system its flows need before they start. A system that cannot be reached
(the connection is refused or not answered in time: a `TransientError`) does not end the run:

- one warning names the system, its address, the error and the flows that wait, and says that
  syncwell keeps trying;
- the system is tried again with its retry policy's backoff (capped exponential, full jitter),
  for as long as the run lasts, while the flows whose systems are up run;
- each failed try is the waiting flows' failure (`last_error`, `syncwell status`, the source's
  or destination's downtime) and `trouble` tells the observer, which opens an `unreachable`
  incident for each of those flows and closes it once the system is open;
- when the system answers, its flows start where they stand.

A one-off run (`--once`) tries `retry.max_attempts` times, as it retries a read, then gives up
on the flows that need the system (`given_up`); the other flows finish. A system that answers
and refuses at the start (an `IntegrationFatalError`: a wrong password, no such database) ends
the run with that error: its fix is in the workspace, and retrying it would only hide it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Generic, Literal, TypeVar
from urllib.parse import urlsplit

import structlog
from pydantic import BaseModel, SecretStr

from syncwell.connectors import Destination, Source, open_destination, open_source
from syncwell.engine.policies import RateLimiter, backoff_delay
from syncwell.engine.progress import Stuck
from syncwell.engine.roles import Role
from syncwell.engine.waiting import sleep_or_stop, wait_any
from syncwell.errors import ConnectorError, TransientError
from syncwell.types import Clock
from syncwell.workspace import Flow, System

__all__ = ["Link", "Links", "Side", "address_of"]

log = structlog.get_logger("syncwell.engine")

Side = Literal["source", "destination"]
T = TypeVar("T", Source, Destination)

_MAX_DOUBLINGS = 30
"""Past this many retries the backoff ceiling stays at the policy's cap anyway."""


def address_of(settings: BaseModel) -> str:
    """Where a system is, for a person: host, port and database or path, never credentials."""
    for field in ("dsn", "base_url", "url"):
        value = getattr(settings, field, None)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            parts = urlsplit(value)
            where = parts.netloc.rpartition("@")[2]  # user and password stay out of logs
            return f"{where}{parts.path}" if where else value.partition("?")[0]
    path = getattr(settings, "path", None)
    return str(path) if path is not None else str(getattr(settings, "kind", "?"))


class Link(Generic[T]):
    """One system opened for one side (reading or writing), now or once it answers.

    Args:
        system: the system.
        side: whether the flows read it (`source`) or write it (`destination`).
        flows: the flows that wait for it, by name.
        opener: opens it (a connector's `open_source` or `open_destination`).
    """

    def __init__(
        self, system: System, side: Side, flows: Sequence[str], opener: Callable[[], Awaitable[T]]
    ) -> None:
        self.system = system
        self.side: Side = side
        self.flows = tuple(flows)
        self.address = address_of(system.settings)
        self.opened: T | None = None
        self.error: ConnectorError | None = None
        """Why the last try failed; None before one failed."""
        self.attempts = 0
        """Failed tries in a row."""
        self.given_up = False
        """Whether a one-off run stopped trying."""
        self.settled = asyncio.Event()
        """Set once it is open, or given up on."""
        self._opener: Callable[[], Awaitable[T]] = opener

    @property
    def name(self) -> str:
        """The system's name."""
        return self.system.name

    @property
    def down(self) -> bool:
        """Whether a try failed and none has succeeded since."""
        return self.opened is None and self.error is not None

    async def open(self, *, tolerate: type[ConnectorError]) -> bool:
        """Try once; whether it is open. An error of class `tolerate` is kept, others raise."""
        try:
            self.opened = await self._opener()
        except tolerate as error:
            self.attempts += 1
            self.error = error
            return False
        self.settled.set()
        return True

    def stuck(self) -> Stuck:
        """Why a one-off run gave up on it, and the fix."""
        name, error = self.name, self.error
        said = error.message if error is not None else "no answer"
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return Stuck(
            "read" if self.side == "source" else "write",
            name,
            f"cannot reach {name} at {self.address} ({tries} failed): {said}",
            f"Start {name} or fix its address in the workspace (`syncwell probe` tries it), "
            "then run again",
        )


Failed = Callable[[Link[Source] | Link[Destination], ConnectorError], Awaitable[None]]
"""Called after each failed try: the engine notes it as its flows' failure."""


class Links:
    """The systems a run opens, by side, and the trying again of those that are down.

    Args:
        systems: the workspace's systems.
        flows: the automated flows this process runs.
        role: what this process does: sources are opened where it reads, destinations
            where it delivers.
        limiters: each system's rate limiter (the engine's; filled before `open_all`).
        clock: where time comes from.
        once: whether the run is one-off (it gives up after `retry.max_attempts`).
        failed: called after each failed try.
    """

    def __init__(
        self,
        systems: Mapping[str, System],
        flows: Sequence[Flow],
        role: Role,
        limiters: Mapping[str, RateLimiter],
        clock: Clock,
        *,
        once: bool,
        failed: Failed,
    ) -> None:
        self._clock, self._once, self._failed = clock, once, failed
        self.sources: dict[str, Link[Source]] = {}
        self.destinations: dict[str, Link[Destination]] = {}
        for name in dict.fromkeys(f.source for f in flows) if role != "deliver" else ():
            system, readers = systems[name], [f.name for f in flows if f.source == name]
            self.sources[name] = Link(system, "source", readers, _source_opener(system, limiters))
        for name in dict.fromkeys(f.destination for f in flows) if role != "intake" else ():
            system, writers = systems[name], [f.name for f in flows if f.destination == name]
            self.destinations[name] = Link(
                system, "destination", writers, _destination_opener(system, limiters)
            )

    def _all(self) -> list[Link[Source] | Link[Destination]]:
        return [*self.sources.values(), *self.destinations.values()]

    async def open_all(self) -> None:
        """Try each system once, all at once (a host that never answers holds back only its
        own flows). One that cannot be reached is logged and left to `keep_trying`; one that
        refuses (an `IntegrationFatalError`) raises, once every try has ended."""
        links = self._all()
        tried = await asyncio.gather(
            *(link.open(tolerate=TransientError) for link in links), return_exceptions=True
        )
        for outcome in tried:
            if isinstance(outcome, BaseException):
                raise outcome  # the others that opened are closed by `aclose`
        for link in links:
            if link.down:
                assert link.error is not None
                log.warning(
                    f"{link.side} {link.name} at {link.address} cannot be reached; "
                    f"{self._plan(link)}",
                    system=link.name,
                    flows=",".join(link.flows),
                    error=link.error.message,
                )
                await self._failed(link, link.error)

    def _plan(self, link: Link[Source] | Link[Destination]) -> str:
        """What happens next, for the line that says a system is down."""
        if self._once:
            tries = link.system.retry.max_attempts
            return f"syncwell tries {tries} times in all, its flows wait, the others run"
        return "syncwell keeps trying with backoff; its flows wait, the others run"

    def keep_trying(self, stop: asyncio.Event) -> list[Coroutine[object, object, None]]:
        """A task for each system that is down: try again with backoff until it opens."""
        return [self._retry(link, stop) for link in self._all() if link.down]

    async def _retry(self, link: Link[Source] | Link[Destination], stop: asyncio.Event) -> None:
        policy, rng = link.system.retry, random.Random()  # noqa: S311 - jitter, not security
        while not stop.is_set():
            if self._once and link.attempts >= policy.max_attempts:
                link.given_up = True
                link.settled.set()
                return
            retry_after = link.error.retry_after if isinstance(link.error, TransientError) else None
            attempt = min(link.attempts - 1, _MAX_DOUBLINGS)
            delay = backoff_delay(policy, attempt, rng=rng, retry_after=retry_after)
            await sleep_or_stop(self._clock, delay, stop)
            if stop.is_set():
                return
            # After the start any refusal is tried again too: the other flows are running.
            if await link.open(tolerate=ConnectorError):
                log.info(
                    f"{link.side} {link.name} at {link.address} reached after "
                    f"{link.attempts} failed attempts; its flows start",
                    system=link.name,
                    flows=",".join(link.flows),
                )
                return
            assert link.error is not None
            log.info("still cannot reach", system=link.name, error=link.error.message)
            await self._failed(link, link.error)

    async def source(self, name: str, stop: asyncio.Event) -> Source | None:
        """System `name` open for reading, once it is; None if the run stops or gives up."""
        return await _wait(self.sources[name], stop)

    async def destination(self, name: str, stop: asyncio.Event) -> Destination | None:
        """System `name` open for writing, once it is; None if the run stops or gives up."""
        return await _wait(self.destinations[name], stop)

    def trouble(self, flow: Flow) -> str | None:
        """Why `flow` cannot run: a system of its that is down; None when none is."""
        links = [self.sources.get(flow.source), self.destinations.get(flow.destination)]
        for link in links:
            if link is not None and link.down:
                assert link.error is not None
                return (
                    f"its {link.side} {link.name} at {link.address} cannot be reached "
                    f"({link.error.message}); syncwell keeps trying"
                )
        return None

    async def aclose(self) -> None:
        """Close every system that was opened."""
        for link in self._all():
            if link.opened is not None:
                await link.opened.aclose()


async def _wait(link: Link[T], stop: asyncio.Event) -> T | None:
    if not link.settled.is_set():
        await wait_any(link.settled, stop)
    return link.opened


def _source_opener(
    system: System, limiters: Mapping[str, RateLimiter]
) -> Callable[[], Awaitable[Source]]:
    async def opener() -> Source:
        return await open_source(system.name, system.settings, limiters[system.name])

    return opener


def _destination_opener(
    system: System, limiters: Mapping[str, RateLimiter]
) -> Callable[[], Awaitable[Destination]]:
    async def opener() -> Destination:
        return await open_destination(system.name, system.settings, limiters[system.name])

    return opener
