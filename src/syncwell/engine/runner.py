"""The engine: run a workspace's flows, intake and delivery side by side, until told to stop.

Each automated flow runs two tasks. Intake reads its source on the flow's interval and
journals what it finds; delivery drains the journal to the destination as soon as changes
arrive. Systems are connected once and shared by their flows, as are the rate limiter of each
system and the circuit breaker of each destination. A system that cannot be reached at the
start is tried again with backoff while the flows that need it wait (engine/startup.py).

With a `transport:` (DESIGN.md, Distributed), the work is split. `syncwell run` reads the
sources and relays the journal to the transport (engine/relay.py); each `syncwell worker`
delivers, one task per flow and partition (engine/streamfeed.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections import Counter
from collections.abc import Coroutine
from contextlib import AsyncExitStack

import structlog

from syncwell.connectors import Destination, KeyLister, Source, open_source
from syncwell.engine.analyst import Analyst
from syncwell.engine.capture import capture_source
from syncwell.engine.changetimes import ChangeTimes
from syncwell.engine.comparison import compare_plan
from syncwell.engine.delivery import Feed, FlowDelivery, Route
from syncwell.engine.firstsync import FirstSync
from syncwell.engine.guard import RecordGuard
from syncwell.engine.identities import identity_map, read_back_ids
from syncwell.engine.membership import share_budgets
from syncwell.engine.observer import Observer
from syncwell.engine.order import upstream_flows
from syncwell.engine.pairs import guard_plan
from syncwell.engine.patience import Patience, note_waiting
from syncwell.engine.policies import CircuitBreaker, RateLimiter, spending_for
from syncwell.engine.progress import FlowProgress
from syncwell.engine.reading import FailureNotes, FlowReading, note_failure
from syncwell.engine.relay import linger_for, relay
from syncwell.engine.rereads import RereadDesk
from syncwell.engine.roles import Role, role_of
from syncwell.engine.slots import slot_watch
from syncwell.engine.startup import Link, Links
from syncwell.engine.streamfeed import StreamFeed
from syncwell.engine.tickets import read_every
from syncwell.engine.verify import FlowVerifier, flow_verifier
from syncwell.engine.waiting import sleep_or_stop, supervise, wait_any
from syncwell.engine.webhooks import EventRouter, GroupCommitter
from syncwell.engine.workers import WorkersView
from syncwell.errors import (
    ConnectorError,
    IntegrationFatalError,
    StoreError,
    TransientError,
    TransportError,
)
from syncwell.measure.alerts import AlertSender
from syncwell.store import Store, open_store
from syncwell.transport import JetStreamTransport, connect_for
from syncwell.types import Clock, StreamSpec, SystemClock
from syncwell.workspace import Flow, Mode, Workspace
from syncwell.workspace.unsent import unsent_of

__all__ = ["Engine"]

log = structlog.get_logger("syncwell.engine")

_LINGER_S = 0.2
_SUCCESS_WINDOW_S = 300.0
_SUCCESS_MIN_ATTEMPTS = 10


class Engine:
    """Runs a workspace.

    Args:
        workspace: the loaded syncwell.yaml.
        clock: where time comes from (tests pass a fake one).
        grace_s: on stop, how long in-flight deliveries may finish before they are handed
            back to the journal.
        measure_every_s: how often measurements go to the store and incidents are judged.
        analyse_every_s: how often the constraint is analysed and kept while it runs, the
            first time a minute in (none in a one-off run; None never).
        worker: deliver from the workspace's transport (`syncwell worker`), rather than read
            the sources; needs a `transport:` in the workspace.
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        clock: Clock | None = None,
        grace_s: float = 10.0,
        measure_every_s: float = 10.0,
        analyse_every_s: float | None = 3600.0,
        worker: bool = False,
    ) -> None:
        self.workspace = workspace
        self.role: Role = role_of(workspace, worker=worker)
        """What this process does: all of it, or its part of a distributed run."""
        self.clock: Clock = clock or SystemClock()
        self.grace_s = grace_s
        self.measure_every_s = measure_every_s
        self.analyse_every_s = analyse_every_s
        self.analyst = Analyst(workspace)
        """Analyses the constraint every `analyse_every_s` while the engine runs."""
        self.flows = [f for f in workspace.flows.values() if f.mode is not Mode.MANUAL]
        now = self.clock.wall()
        self.progress: dict[str, FlowProgress] = {
            f.name: FlowProgress(f.name, now) for f in self.flows
        }
        self._arrived = {f.name: asyncio.Event() for f in self.flows}
        self._delivered = {f.name: asyncio.Event() for f in self.flows}
        self._upstream = upstream_flows(self.flows)
        self.change_times = ChangeTimes(self.flows, self.clock.wall)
        """When each flow's changes happened, the start of its freshness lag."""
        self.webhooks = EventRouter(workspace, self.change_times)
        """Reads webhook events of the systems that send them (the API's ingress uses it)."""
        self.committer: GroupCommitter | None = None
        """Journals webhook events while the engine runs; None before it started."""
        self._rereads = RereadDesk(f.name for f in self.flows)
        self.ready = False
        """Whether the engine runs: its store open, its flows started (for /readyz). A system
        that is down does not hold it back: its flows wait, and their incidents say so."""
        self._guards = {f.name: guard_plan(f, workspace) for f in self.flows}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._failure_notes: FailureNotes | None = None
        self.observer = Observer(
            self.flows, self.progress, self.clock, self._breakers, self._limiters
        )
        """Measures the flows per minute and opens and closes their incidents."""
        # A worker sees a part of each flow: the reader judges incidents for everyone, from
        # what every process measured (engine/workers.py); all measure.
        self.observer.judging = self.role != "deliver"
        self.verifiers: dict[str, FlowVerifier] = {}
        """Each verified flow's read-back of its writes (engine/verify.py), made as it starts."""
        self.observer.verifiers = self.verifiers
        if self.role != "deliver":  # the process that reads the sources watches their slots
            self.observer.slots = slot_watch(workspace, self.flows)
        self.links: Links | None = None
        """The systems this run opened, or tries to (engine/startup.py); None before it runs."""

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None) -> None:
        """Run until `stop` is set, or with `once` until every flow is read and delivered.

        With `once`, a flow that cannot make progress gives up instead of waiting forever
        (engine/patience.py): its reads or deliveries failed the system's `retry.max_attempts`
        times in a row, or its destination's breaker stayed open longer than its retries would
        wait. Its progress says `gave_up` and, in `stuck`, why and the fix; its journaled
        changes wait for the next run.
        """
        if once and self.role != "all":
            raise ValueError("a one-off run delivers in its own process: it takes no transport")
        stop = stop or asyncio.Event()
        self._failure_notes = None  # one per run: it writes to this run's store
        async with AsyncExitStack() as stack:
            store = await open_store(self.workspace.state)
            stack.push_async_callback(store.close)
            links = await self._connect(stack, store, once)
            transport = await connect_for(self.workspace, self.flows)
            if transport is not None:
                stack.push_async_callback(transport.close)
            if transport is not None and self.role == "intake":
                self.observer.workers = WorkersView(transport, self.flows)
            alerts = self.workspace.alerts
            if alerts is not None:
                sender = AlertSender(alerts.url, alerts.secret.get_secret_value(), alerts.timeout_s)
                self.observer.alerts = sender
                self.analyst.alerts = sender
                stack.push_async_callback(sender.aclose)
            tasks: list[asyncio.Future[object]] = []
            if self.webhooks.intakes and not once and self.role != "deliver":  # once: none
                self.committer = GroupCommitter(
                    store.inbox,
                    {
                        name: intake.dedupe_for.total_seconds()
                        for name, intake in self.webhooks.intakes.items()
                    },
                    self._journaled,
                    on_reread=self._rereads.asked,
                )
                tasks.append(asyncio.ensure_future(self.committer.run(stop)))
            tasks += [asyncio.ensure_future(retry) for retry in links.keep_trying(stop)]
            tasks += self._flow_tasks(links, store, transport, stop, once)
            halt = asyncio.Event()
            flushing = self.observer.flush_every(store, self.measure_every_s, halt)
            housekeeping = [asyncio.create_task(flushing)]
            if self.role == "deliver":  # workers share each system's budget
                sharing = share_budgets(store, self._limiters, self.clock, halt)
                housekeeping.append(asyncio.create_task(sharing))
            if self.workspace.tickets is not None and self.role != "deliver":
                tickets = read_every(self.workspace, store, halt)  # evidence for the analysis
                housekeeping.append(asyncio.create_task(tickets))
            if self.analyse_every_s is not None and not once and self.role != "deliver":
                analysing = asyncio.create_task(self.analyst.every(store, self.analyse_every_s))
            else:
                analysing = None
            self.ready = True
            try:
                await supervise(tasks, stop, grace_s=self.grace_s)
                self._blame_unreached(links)
                await note_waiting(store.journal, self.progress.values())  # for the stuck's lines
            finally:
                self.ready = False
                self.committer = None
                halt.set()  # a flush in progress finishes: its minutes are not lost
                if analysing is not None:
                    analysing.cancel()
                    housekeeping.append(analysing)
                await asyncio.gather(*housekeeping, return_exceptions=True)
                # A one-off run waits for its last read-backs; a stop drops them.
                await asyncio.gather(*(v.close(finish=once) for v in self.verifiers.values()))
                await self.observer.flush(store)  # the last, partial minute too

    def _flow_tasks(
        self,
        links: Links,
        store: Store,
        transport: JetStreamTransport | None,
        stop: asyncio.Event,
        once: bool,
    ) -> list[asyncio.Future[object]]:
        """Each flow's tasks for this process's role: intake, then delivery or the relay."""
        tasks: list[asyncio.Future[object]] = []

        def start(name: str, work: Coroutine[object, object, None]) -> None:
            tasks.append(asyncio.create_task(work, name=name))

        for flow in self.flows:
            if self.role != "deliver":
                start(f"intake:{flow.name}", self._intake_loop(flow, links, store, stop, once))
            if self.role == "all":
                work = self._delivery_loop(flow, links, store, store.journal, stop, once)
                start(f"delivery:{flow.name}", work)
            elif self.role == "intake":
                assert transport is not None
                arrived = self._arrived[flow.name]
                linger = linger_for(self.workspace, flow)
                relaying = relay(flow, store.journal, transport, arrived, stop, linger_s=linger)
                start(f"relay:{flow.name}", relaying)
            else:
                assert transport is not None
                for partition in range(transport.partitions):
                    feed = StreamFeed(transport, store.journal, partition, stop=stop)
                    work = self._partition_loop(flow, links, store, feed, stop)
                    start(f"delivery:{flow.name}:{partition}", work)
        return tasks

    async def _partition_loop(
        self, flow: Flow, links: Links, store: Store, feed: StreamFeed, stop: asyncio.Event
    ) -> None:
        """Deliver one partition of `flow` from the transport; hand back what is held."""
        try:
            await self._delivery_loop(flow, links, store, feed, stop, once=False)
        finally:
            await feed.release()

    def _journaled(self, changes: Counter[str]) -> None:
        """Webhook changes are durable: count them and wake their flows' delivery."""
        for flow, count in changes.items():
            if flow in self.progress:
                self.progress[flow].hooked += count
                self.observer.recorder.took_in(flow, count)
                self._arrived[flow].set()

    async def _connect(self, stack: AsyncExitStack, store: Store, once: bool) -> Links:
        """Open the systems the flows need; one that is down is tried again (engine/startup.py)."""
        systems = self.workspace.systems
        # Filled in place: the observer holds these very dictionaries.
        self._limiters.update(
            {name: RateLimiter(system.rate_limit, self.clock) for name, system in systems.items()}
        )
        self._breakers.update(
            {
                name: CircuitBreaker(system.breaker, self.clock, name=name)
                for name, system in systems.items()
            }
        )

        async def failed(link: Link[Source] | Link[Destination], error: ConnectorError) -> None:
            await self._unreached(store, link, error)

        links = Links(
            systems, self.flows, self.role, self._limiters, self.clock, once=once, failed=failed
        )
        stack.push_async_callback(links.aclose)
        self.links = links
        self.observer.unreachable = links.trouble
        await links.open_all()
        return links

    async def _unreached(
        self, store: Store, link: Link[Source] | Link[Destination], error: ConnectorError
    ) -> None:
        """A try to open `link` failed: each waiting flow's failure, as a failed read or write
        would be (its last error, `syncwell status`, the system's downtime)."""
        threshold = link.system.breaker.failure_threshold
        for flow in link.flows:
            self.progress[flow].last_error = f"{type(error).__name__}: {error}"
            if link.side == "source":
                self.observer.recorder.read_failed(flow, error, in_a_row=threshold)
            else:
                self.observer.recorder.attempted(flow, error, in_a_row=threshold)
            await note_failure(store, flow, "read" if link.side == "source" else "write", error)

    def _blame_unreached(self, links: Links) -> None:
        """A flow given up on because a system of its could not be reached says that, rather
        than what failed because of it (a first sync lists the destination as it reads)."""
        for flow in self.flows:
            for link in (links.sources.get(flow.source), links.destinations.get(flow.destination)):
                if link is not None:
                    self._gave_up_on(link, flow)

    def _gave_up_on(self, link: Link[Source] | Link[Destination], flow: Flow) -> None:
        """A one-off run stopped trying `link`: `flow` gives up, saying why and the fix."""
        if link.given_up:
            progress = self.progress[flow.name]
            progress.gave_up = True
            progress.stuck = link.stuck()

    def _delivery(self, flow: Flow, writer: Destination, store: Store, feed: Feed) -> FlowDelivery:
        system = self.workspace.systems[flow.destination]
        route = Route(
            flow=flow.name,
            source=self._source_spec(flow),
            destination=_destination_spec(flow),
            renames=dict(flow.fields),
            writer=writer,
            limiter=self._limiters[flow.destination],
            breaker=self._breakers[flow.destination],
            retry=system.retry,
            guard=self._guard(flow, store),
            verify=self._verifier(flow, writer, store),
            unsent=unsent_of(flow, self.workspace),
            identities=identity_map(flow, writer, store),
            read_back=read_back_ids(flow, self.workspace, store),
            missing=flow.missing,
        )
        progress = self.progress[flow.name]
        if self._failure_notes is None:  # a worker's partitions share one per store
            self._failure_notes = FailureNotes(store, self.clock)
        failed = functools.partial(self._failure_notes.note, flow.name, "write")
        recorder = self.observer.recorder
        return FlowDelivery(route, feed, progress, self.clock, recorder, failed=failed)

    def _verifier(self, flow: Flow, writer: Destination, store: Store) -> FlowVerifier | None:
        """The flow's verifier, one per flow (a worker's partitions share it)."""
        if flow.name not in self.verifiers:
            made = flow_verifier(
                flow, self.workspace, writer, store, self.clock, self.observer.recorder
            )
            if made is None:
                return None
            self.verifiers[flow.name] = made
        return self.verifiers[flow.name]

    def _guard(self, flow: Flow, store: Store) -> RecordGuard | None:
        plan = self._guards[flow.name]
        return None if plan is None else RecordGuard(plan, store.record_versions, store.journal)

    def _source_spec(self, flow: Flow) -> StreamSpec:
        """The flow's read; pages travel as COPY text when both ends are PostgreSQL."""
        systems = self.workspace.systems
        both_postgres = systems[flow.source].kind == systems[flow.destination].kind == "postgres"
        # The record guard reads values, and the key ledger keys (in the same form a key
        # scan lists them: native values, not COPY text), so their flows travel as rows.
        tracks_keys = flow.scans_keys or flow.passes_by_read
        as_text = both_postgres and self._guards[flow.name] is None and not tracks_keys
        return dataclasses.replace(flow.source_spec(), copy_text=as_text)

    async def _intake_loop(
        self, flow: Flow, links: Links, store: Store, stop: asyncio.Event, once: bool
    ) -> None:
        spending_for(flow.name)
        if once:  # read what the flows feeding this one have delivered, not what they will
            for feeder in self._upstream[flow.name]:
                await wait_any(self._delivered[feeder], stop)
        captured = capture_source(self.workspace, flow) if flow.mode is Mode.CDC else None
        source = captured or await links.source(flow.source, stop)
        if source is None:  # stopped while its source was down, or a one-off run gave up
            self._gave_up_on(links.sources[flow.source], flow)
            self.progress[flow.name].intake_done = True
            self._arrived[flow.name].set()
            return
        if flow.scans_keys and not isinstance(source, KeyLister):
            raise IntegrationFatalError(
                f"flow '{flow.name}' has `deletes: {{detect: scan}}`, but a "
                f"{self.workspace.systems[flow.source].kind} source cannot list its keys; "
                "remove `deletes:` or read it without a cursor",
                system=flow.source,
                flow=flow.name,
            )
        reading = FlowReading(
            flow=flow,
            source=source,
            spec=self._source_spec(flow),
            store=store,
            progress=self.progress[flow.name],
            arrived=self._arrived[flow.name],
            clock=self.clock,
            recorder=self.observer.recorder,
            rereads=self._rereads,
            retry=self.workspace.systems[flow.source].retry,
            reconciled=flow.mode is Mode.REALTIME and flow.source in self.webhooks.intakes,
            down_after=self.workspace.systems[flow.source].breaker.failure_threshold,
            # A CDC flow's batches carry their commit times, and its snapshot is of a moment
            # its stream continues from: no comparison, no read-time guesses.
            first_sync=None if captured else self._first_sync(flow, store),
            times=None if captured else self.change_times,
        )
        try:
            await reading.run(stop, once=once)
        finally:
            if captured is not None:
                await captured.aclose()

    def _first_sync(self, flow: Flow, store: Store) -> FirstSync:
        """How `flow`'s first read compares with its destination, which it lists through
        the destination system's own `Source`, opened for the listing only."""
        system = self.workspace.systems[flow.destination]
        limiter = self._limiters[flow.destination]

        async def opener() -> Source:
            return await open_source(system.name, system.settings, limiter)

        plan = compare_plan(flow, self.workspace)
        return FirstSync(flow, plan, store.first_syncs, store.identities, opener, self.clock)

    async def _delivery_loop(
        self,
        flow: Flow,
        links: Links,
        store: Store,
        feed: Feed,
        stop: asyncio.Event,
        once: bool,
    ) -> None:
        writer = await links.destination(flow.destination, stop)
        if writer is None:  # stopped while its destination was down, or a one-off run gave up
            self._gave_up_on(links.destinations[flow.destination], flow)
            self._delivered[flow.name].set()
            return
        delivery = self._delivery(flow, writer, store, feed)
        progress, arrived = self.progress[flow.name], self._arrived[flow.name]
        patience = self._patience(flow) if once else None
        spending_for(flow.name)
        try:
            while not stop.is_set():
                intake_done = progress.intake_done
                arrived.clear()
                try:
                    if patience is None:
                        moved: int | None = await delivery.deliver_next()
                    else:
                        moved = await patience.deliver(delivery)
                except (TransientError, StoreError, TransportError) as error:
                    # Given up for now; the entries stay in the journal (or held) to try again.
                    log.warning("delivery deferred", flow=flow.name, error=str(error))
                    await note_failure(store, flow.name, "write", error)
                    if patience is not None and patience.handed_back(error):
                        break  # a one-off run ends; the journal keeps the rest
                    await wait_any(stop, timeout=1.0)
                    continue
                if moved is None:
                    break  # a one-off run gave up behind an open breaker
                if moved == 0:
                    if once and intake_done:
                        break
                    if self.role == "deliver":
                        continue  # the feed waited for the next message already
                    await wait_any(arrived, stop, timeout=1.0)
                    if flow.mode is Mode.REALTIME:
                        # Webhooks come one by one: a moment's wait lets one delivery carry
                        # many, at a cost of 0.2 s of freshness.
                        await sleep_or_stop(self.clock, _LINGER_S, stop)
            self._delivered[flow.name].set()
        finally:
            await delivery.close()

    def _patience(self, flow: Flow) -> Patience:
        """How long a one-off run waits for `flow`'s delivery (engine/patience.py)."""
        system = flow.destination
        retry, breaker = self.workspace.systems[system].retry, self._breakers[system]
        return Patience(self.progress[flow.name], system, breaker, retry, self.clock)


def _destination_spec(flow: Flow) -> StreamSpec:
    spec = flow.destination_spec()
    if flow.conflict == flow.source:
        return dataclasses.replace(spec, version=None)  # its changes win: no version guard
    return spec
