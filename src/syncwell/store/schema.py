"""The state store's tables, as SQLAlchemy Core metadata shared by queries and migrations.

Times are Unix seconds (float): the same on SQLite and PostgreSQL, and cheap to compare.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "analyses",
    "auth_failures",
    "checkpoints",
    "dead_letters",
    "deliveries",
    "failures",
    "field_drift",
    "first_sync_records",
    "first_syncs",
    "identities",
    "incidents",
    "journal",
    "key_passes",
    "measurement_rollups",
    "measurements",
    "metadata",
    "reconciliations",
    "record_versions",
    "sessions",
    "source_keys",
    "tickets",
    "token_uses",
    "tokens",
    "verifications",
    "webhook_events",
    "webhook_rereads",
]

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid); PostgreSQL wants a bigint.
_Id = BigInteger().with_variant(Integer(), "sqlite")

journal = Table(
    "journal",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("changes", Integer, nullable=False, doc="changes in the payload"),
    Column("observed_at", Float, nullable=False, doc="when the oldest of them happened"),
    Column("created_at", Float, nullable=False),
    Column("payload", LargeBinary, nullable=False, doc="a ChangeBatch, see store/codec.py"),
    Index("journal_flow_id", "flow", "id"),
    sqlite_autoincrement=True,
)
"""Changes taken in and not yet delivered. A row is one batch from a source, in source order."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("value", Text, nullable=False, doc="JSON; its content belongs to the source"),
    Column("updated_at", Float, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("first_entry", BigInteger, nullable=False),
    Column("last_entry", BigInteger, nullable=False),
    Column("changes", Integer, nullable=False, doc="changes taken from the journal"),
    Column("written", Integer, nullable=False, doc="changes written after coalescing"),
    Column("dead_lettered", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("retries_transient", Integer, nullable=False),
    Column("retries_rate_limited", Integer, nullable=False),
    Column("retries_timeout", Integer, nullable=False, server_default="0"),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=False),
    Index("deliveries_flow_finished", "flow", "finished_at"),
    sqlite_autoincrement=True,
)
"""One row per delivered batch (never per record): attempts, outcome and timing."""

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("key", Text, nullable=False, doc="the key as text; a JSON list if several columns"),
    Column("op", String(10), nullable=False),
    Column("version", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False, doc="a one-change ChangeBatch"),
    Column("reason", Text, nullable=False),
    Column("error_class", String(100), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status", String(20), nullable=False, doc="open, replayed or discarded"),
    Column("created_at", Float, nullable=False),
    Column("resolved_at", Float, nullable=True),
    Column("replayed_as", BigInteger, nullable=True, doc="the journal entry a replay made"),
    Column("replayed_after", BigInteger, nullable=True, doc="the newest dead letter then"),
    Index("dead_letters_flow_status", "flow", "status"),
    Index("dead_letters_flow_key", "flow", "key"),
    sqlite_autoincrement=True,
)

failures = Table(
    "failures",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("stage", String(10), nullable=False, doc="read or write"),
    Column("error_class", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("failures_flow_at", "flow", "at"),
    sqlite_autoincrement=True,
)
"""A read or a delivery that failed (after its retries): one row per failure, never per record."""

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("system", String(200), primary_key=True),
    Column("event_id", String(300), primary_key=True),
    Column("received_at", Float, nullable=False),
    Index("webhook_events_received", "received_at"),
)
"""Event ids taken in by webhook, kept for the system's `dedupe_for` so redeliveries are dropped."""

webhook_rereads = Table(
    "webhook_rereads",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("key", Text, nullable=True, doc="as in dead_letters; NULL: whatever changed"),
    Column("system", String(200), nullable=False),
    Column("event_id", String(300), nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0", doc="reads that missed it"),
    Index("webhook_rereads_flow", "flow", "id"),
    sqlite_autoincrement=True,  # a read fulfils the ids it saw before it began: never reused
)
"""Thin webhook events (ids only, or a bulk event without its rows), kept until the flow's
next complete read has fetched what they announced (docs/webhooks.md, thin events)."""

record_versions = Table(
    "record_versions",
    metadata,
    Column("system", String(200), primary_key=True),
    Column("stream", String(200), primary_key=True),
    Column("key", Text, primary_key=True, doc="as in dead_letters"),
    Column("seen_version", LargeBinary, nullable=True, doc="newest version taken in from here"),
    Column("written_version", LargeBinary, nullable=True, doc="version syncwell last wrote here"),
    Column("written_values", LargeBinary, nullable=True, doc="what it wrote, to know its echo"),
    Column("updated_at", Float, nullable=False),
)
"""Per record of a system that can't guard itself or syncs both ways: what syncwell saw and
wrote there (msgpack values). Never touched for one-way flows between databases."""

reconciliations = Table(
    "reconciliations",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("flow", String(200), nullable=False),
    Column("checked", Integer, nullable=False, doc="changes the reconciliation read"),
    Column("missed", Integer, nullable=False, doc="of those, changes no webhook had brought"),
    Column("at", Float, nullable=False),
    Index("reconciliations_flow_at", "flow", "at"),
    sqlite_autoincrement=True,
)
"""One row per reconciliation pass of a realtime flow: how much the webhooks had missed."""


def _measured() -> list[Column[object]]:
    """The columns a minute measures; its rollups add the same columns up."""
    return [
        Column("measured_s", Float, nullable=False, server_default="0", doc="seconds running"),
        Column("changes_in", Integer, nullable=False),
        Column("backfill_in", Integer, nullable=False, server_default="0", doc="by full reads"),
        Column("screened", Integer, nullable=False, server_default="0", doc="never written"),
        Column("changes_out", Integer, nullable=False),
        Column("batches", Integer, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("retries_transient", Integer, nullable=False),
        Column("retries_rate_limited", Integer, nullable=False),
        Column("retries_timeout", Integer, nullable=False, server_default="0"),
        Column("dead_lettered", Integer, nullable=False),
        Column("busy_s", Float, nullable=False, server_default="0", doc="writing with a backlog"),
        Column("out_busy", Integer, nullable=False, server_default="0", doc="written then"),
        Column("reads", Integer, nullable=False),
        Column("read_failures", Integer, nullable=False, server_default="0"),
        Column("reads_rate_limited", Integer, nullable=False, server_default="0", doc="429s"),
        Column("reads_timed_out", Integer, nullable=False, server_default="0"),
        Column("misconfigured", Integer, nullable=False, server_default="0", doc="user's mistake"),
        Column("read_gap_max_s", Float, nullable=False, doc="the longest time between two reads"),
        Column("latency_sum_ms", Float, nullable=False),
        Column("latency_buckets", Text, nullable=False, doc="counts per LATENCY_BOUNDS_MS bucket"),
        Column("lag_sum_s", Float, nullable=False, doc="freshness lag summed over batches"),
        Column("lag_max_s", Float, nullable=False),
        Column("late", Integer, nullable=False, server_default="0", doc="written past the SLO"),
        Column("requests", Integer, nullable=False, server_default="0", doc="budget spent"),
        Column("backlog_max", Integer, nullable=False),
        Column("dead_letters_max", Integer, nullable=False, server_default="0"),
        Column("breaker_open_s", Float, nullable=False),
        Column("source_down_s", Float, nullable=False, server_default="0", doc="by its answers"),
        Column("destination_down_s", Float, nullable=False, server_default="0"),
        Column("headroom_min", Float, nullable=True, doc="least rate-limit headroom reported"),
        Column("source_rate_min", Float, nullable=True, doc="least requests/s allowed"),
        Column("destination_rate_min", Float, nullable=True),
        Column("missed_by_webhooks", Integer, nullable=False),
        Column("verified", Integer, nullable=False, server_default="0", doc="read back"),
        Column("drifted", Integer, nullable=False, server_default="0", doc="came back different"),
        Column("slot_retained_bytes_max", BigInteger, nullable=True, doc="cdc: WAL its slot kept"),
        Column("slot_retained_s_max", Float, nullable=True, doc="cdc: its slot's lag, s"),
    ]


measurements = Table(
    "measurements",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("minute", BigInteger, primary_key=True, doc="Unix seconds at the minute's start"),
    *_measured(),
    Index("measurements_minute", "minute"),
)
"""Per flow per minute: what it moved, how hard, how fast and how fresh (measure/minutes.py)."""

measurement_rollups = Table(
    "measurement_rollups",
    metadata,
    Column("span_s", Integer, primary_key=True, doc="3600 (an hour) or 86400 (a day)"),
    Column("flow", String(200), primary_key=True),
    Column("start", BigInteger, primary_key=True, doc="Unix seconds at the span's start"),
    *_measured(),
    Index("measurement_rollups_span_start", "span_s", "start"),
)
"""The minutes added up by hour and by day, kept as they are flushed, so that an analysis of
30 days reads thousands of rows, not millions (store/measurements.py)."""

analyses = Table(
    "analyses",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("window_s", Float, nullable=False),
    Column("integration", String(200), nullable=True, doc="the constraint; null when none"),
    Column("flow", String(200), nullable=True),
    Column("reason", String(40), nullable=True),
    Column("evidence", Text, nullable=False, doc="the constraint's evidence, in a sentence"),
    Column("report", Text, nullable=False, doc="the whole analysis as JSON"),
    Index("analyses_at", "at"),
    sqlite_autoincrement=True,
)
"""Every constraint analysis, so that `syncwell constraint --history` shows how it moved."""

incidents = Table(
    "incidents",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("integration", String(200), nullable=False),
    Column("flow", String(200), nullable=False),
    Column("cause", String(40), nullable=False, doc="breaker_open, freshness, stalled"),
    Column("detail", Text, nullable=False, doc="the evidence, in a sentence"),
    Column("opened_at", Float, nullable=False),
    Column("closed_at", Float, nullable=True),
    Index("incidents_flow_cause_open", "flow", "cause", "closed_at"),
    sqlite_autoincrement=True,
)
"""Periods in which a flow was unhealthy, opened and closed by the engine (measure/incidents.py)."""

tokens = Table(
    "tokens",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False, doc="viewer, operator or admin"),
    Column("secret_hash", String(64), nullable=False, doc="SHA-256 of the secret, hex"),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Column("last_used_at", Float, nullable=True),
    sqlite_autoincrement=True,
)
"""API tokens (store/tokens.py): never the secret itself."""

token_uses = Table(
    "token_uses",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("token_id", BigInteger, nullable=True, doc="null: no live token matched"),
    Column("at", Float, nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("accepted", Boolean, nullable=False),
    Index("token_uses_token_at", "token_id", "at"),
    Index("token_uses_at", "at"),
    sqlite_autoincrement=True,
)
"""Every request that presented a token, accepted or not."""

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True, doc="a worker process's own random id"),
    Column("started_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False, doc="its last heartbeat"),
    Index("workers_seen_at", "seen_at"),
)
"""The `syncwell worker` processes of a distributed run: they share systems' rate budgets."""

source_keys = Table(
    "source_keys",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("key", Text, primary_key=True, doc="as in dead_letters"),
    Column("key_values", LargeBinary, nullable=False, doc="the key's values (msgpack)"),
    Column("digest", LargeBinary, nullable=True, doc="of the record's values, where compared"),
    Column("pass_no", Integer, nullable=False, doc="the last pass that saw the key"),
    Column("page", Text, nullable=True, doc="the source's page it was last seen on, if named"),
    Index("source_keys_flow_page", "flow", "page"),
)
"""The keys a flow's source holds, as syncwell last saw them (the key ledger): a key a complete
pass did not see again is gone from the source. Kept only for flows that detect deletes or
compare digests (no cursor, or a NULL one).

No index on `pass_no`: marking a key then rewrites no index (a HOT update), and PostgreSQL is
never tempted, on stale statistics, to find a page of keys through an index on the flow alone.
The few queries by pass number (at the end of a pass) read the flow's keys once."""

key_passes = Table(
    "key_passes",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("pass_no", Integer, nullable=False, doc="the pass under way"),
    Column("started_at", Float, nullable=False, doc="when the pass under way began"),
    Column("finished_at", Float, nullable=True, doc="when the last pass finished"),
    Column("held", Text, nullable=True, doc="why the last pass's deletes were held back"),
    Column("shape", Text, nullable=True, doc="the source, stream and key the keys are of"),
)
"""Each flow's passes over its source's keys (a key scan, or a whole read without a cursor)."""

identities = Table(
    "identities",
    metadata,
    Column("system", String(200), primary_key=True, doc="the tool that assigns the ids"),
    Column("stream", String(200), primary_key=True, doc="its stream, in its own names"),
    Column("peer", String(200), primary_key=True, doc="the system whose keys these are"),
    Column("key", Text, primary_key=True, doc="the peer's key, as in dead_letters"),
    Column("key_values", LargeBinary, nullable=False, doc="the key's values (msgpack)"),
    Column("remote_id", Text, nullable=True, doc="the tool's id; NULL while a create is open"),
    Column("updated_at", Float, nullable=False),
    Index("identities_remote", "system", "stream", "peer", "remote_id"),
)
"""The identity map: a record's key in one system and the id another tool assigned to it.

A row with no `remote_id` is a create on its way: written before the tool is asked, cleared
or completed in the transaction that records the delivery. One found after a crash is a
record the tool may hold although syncwell never heard its id."""

first_syncs = Table(
    "first_syncs",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("started_at", Float, nullable=False),
    Column("listed_at", Float, nullable=True, doc="when the destination's listing finished"),
    Column("finished_at", Float, nullable=True, doc="when the source's first read finished"),
    Column("columns", Text, nullable=True, doc="the compared columns (JSON list)"),
    Column("listed", Integer, nullable=False, doc="destination records listed"),
    Column("matched", Integer, nullable=False, doc="records equal on both sides: not written"),
    Column("differed", Integer, nullable=False, doc="records on both sides that differed"),
    Column("unmatched", Integer, nullable=True, doc="destination records no source record matched"),
)
"""Each flow's first sync: the destination listed, then compared with the source's first read,
so that equal records are not written (engine/firstsync.py). Kept after it finishes, for its
counts in `syncwell status`."""

first_sync_records = Table(
    "first_sync_records",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("key", Text, primary_key=True, doc="the record's match key (engine/compare.py)"),
    Column("digest", LargeBinary, nullable=False, doc="of the compared fields' values"),
    Column("remote_id", Text, nullable=True, doc="the tool's id, where it assigns them"),
    Column("copies", Integer, nullable=False, doc="destination records with this key"),
    Column("seen", Integer, nullable=False, doc="0 unmatched, 1 equal, 2 differed, 3 created"),
    Column("claimed", Text, nullable=True, doc="the source key that matched it"),
)
"""The destination's records during a flow's first sync, one row each (a digest, not the
record): a page of the source at a time is compared with them in the store, so a million
records never sit in Python. Dropped when the first sync finishes."""

verifications = Table(
    "verifications",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("verified", BigInteger, nullable=False, doc="written records read back and compared"),
    Column("drifted", BigInteger, nullable=False, doc="of those, records that came back different"),
    Column("missing", BigInteger, nullable=False, doc="of those, records the destination lacked"),
    Column("first_at", Float, nullable=False),
    Column("last_at", Float, nullable=False),
)
"""Per flow, over the store's history: its written records read back to verify them
(engine/verify.py). The count decides when a flow has read back its first records."""

field_drift = Table(
    "field_drift",
    metadata,
    Column("flow", String(200), primary_key=True),
    Column("field", String(200), primary_key=True, doc="in the destination's names"),
    Column("drifted", BigInteger, nullable=False, doc="records whose field came back different"),
    Column("last_key", Text, nullable=False, doc="the newest such record's key"),
    Column("last_sent", Text, nullable=False, doc="what was sent there, as JSON"),
    Column("last_read", Text, nullable=False, doc="what was read back, as JSON"),
    Column("last_at", Float, nullable=False),
)
"""Drift per flow and field: a field the destination did not keep as it was sent."""


tickets = Table(
    "tickets",
    metadata,
    Column("id", String(200), primary_key=True, doc="the helpdesk's ticket id"),
    Column("integration", String(200), nullable=True, doc="the integration its rule names"),
    Column("opened_at", Float, nullable=False),
    Column("closed_at", Float, nullable=True, doc="when it was resolved; null while open"),
    Column("subject", Text, nullable=False, doc="its subject or first text field, shortened"),
    Column("read_at", Float, nullable=False, doc="when syncwell last read it"),
    Index("tickets_by_integration", "integration", "opened_at"),
)
"""Support tickets read from the workspace's helpdesk (`tickets:`), one row each, attributed to
an integration; the analysis counts them as evidence (engine/tickets.py, analyze/tickets.py)."""


sessions = Table(
    "sessions",
    metadata,
    Column("secret_hash", String(64), primary_key=True, doc="SHA-256 of the cookie's secret, hex"),
    Column("token_id", BigInteger, nullable=False, doc="the token logged in with"),
    Column("role", String(20), nullable=False, doc="that token's role"),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, doc="the absolute end, however active"),
    Column("last_seen_at", Float, nullable=False, doc="to the minute: idle ones end sooner"),
    Index("sessions_by_token", "token_id"),
    Index("sessions_by_expiry", "expires_at"),
)
"""Dashboard sessions (store/sessions.py): the cookie's secret is never kept, only its hash.
Logging out or revoking the token deletes them."""

auth_failures = Table(
    "auth_failures",
    metadata,
    Column("client", String(64), primary_key=True, doc="an IPv4 address or an IPv6 /64"),
    Column("window_start", Float, nullable=False, doc="the client's first failure in the window"),
    Column("failures", Integer, nullable=False, doc="failed attempts since window_start"),
    Index("auth_failures_by_window", "window_start"),
)
"""Failed logins and tokens per client in the current window (store/throttle.py): shared by
every process on the store, so they agree on who must wait. Rows of past windows are pruned."""
