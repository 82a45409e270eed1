"""Durable state on SQLite (embedded) or PostgreSQL: journal, checkpoints, deliveries, dead
letters, webhook ids, record versions, measurements, incidents and analyses. Everything the
engine must not lose lives here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from syncwell.store.analyses import Analyses, StoredAnalysis
from syncwell.store.database import close, connect, connect_direct, migrate
from syncwell.store.dead_letters import DeadLetter, DeadLetters
from syncwell.store.failures import Failures
from syncwell.store.first_syncs import FirstSyncs, FirstSyncState
from syncwell.store.identities import Identities, IdentityChanges, IdentityScope
from syncwell.store.inbox import InboundChange, InboundEvent, Inbox
from syncwell.store.incidents import Incident, Incidents
from syncwell.store.journal import DeadLetterDraft, DeliveryRecord, Journal, JournalEntry
from syncwell.store.measurements import Measurements
from syncwell.store.reconciliations import Reconciliations
from syncwell.store.record_versions import RecordState, RecordVersions, SeenVersions
from syncwell.store.reports import FlowReport, Reports
from syncwell.store.source_keys import KeyNote, KeyPass, SeenKey, SourceKeys
from syncwell.store.tickets import Ticket, Tickets
from syncwell.store.tokens import ROLES, Role, Token, Tokens
from syncwell.store.verifications import (
    FieldDrift,
    FlowVerification,
    Verifications,
    VerifiedBatch,
)
from syncwell.store.workers import Workers

__all__ = [
    "ROLES",
    "Analyses",
    "DeadLetter",
    "DeadLetterDraft",
    "DeadLetters",
    "DeliveryRecord",
    "Failures",
    "FieldDrift",
    "FirstSyncState",
    "FirstSyncs",
    "FlowReport",
    "FlowVerification",
    "Identities",
    "IdentityChanges",
    "IdentityScope",
    "InboundChange",
    "InboundEvent",
    "Inbox",
    "Incident",
    "Incidents",
    "Journal",
    "JournalEntry",
    "KeyNote",
    "KeyPass",
    "Measurements",
    "Reconciliations",
    "RecordState",
    "RecordVersions",
    "Reports",
    "Role",
    "SeenKey",
    "SeenVersions",
    "SourceKeys",
    "Store",
    "StoredAnalysis",
    "Ticket",
    "Tickets",
    "Token",
    "Tokens",
    "Verifications",
    "VerifiedBatch",
    "Workers",
    "open_store",
]


@dataclass(frozen=True, slots=True)
class Store:
    """The state store's parts, sharing one database engine."""

    engine: AsyncEngine
    journal: Journal
    dead_letters: DeadLetters
    failures: Failures
    reports: Reports
    inbox: Inbox
    record_versions: RecordVersions
    reconciliations: Reconciliations
    measurements: Measurements
    incidents: Incidents
    analyses: Analyses
    tokens: Tokens
    workers: Workers
    source_keys: SourceKeys
    identities: Identities
    verifications: Verifications
    first_syncs: FirstSyncs
    tickets: Tickets

    async def close(self) -> None:
        """Close every connection."""
        await close(self.engine)
        self.inbox.close()


async def open_store(url: str) -> Store:
    """Connect to the state store at `url`, migrating its tables to the newest revision."""
    engine = connect(url)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()  # its pooled connection would be closed by the collector
        raise
    journal, dead_letters = Journal(engine), DeadLetters(engine)
    reports = Reports(engine, journal, dead_letters)
    return Store(
        engine,
        journal,
        dead_letters,
        Failures(engine),
        reports,
        Inbox(engine, connect_direct(engine)),
        RecordVersions(engine),
        Reconciliations(engine),
        Measurements(engine),
        Incidents(engine),
        Analyses(engine),
        Tokens(engine),
        Workers(engine),
        SourceKeys(engine),
        Identities(engine),
        Verifications(engine),
        FirstSyncs(engine),
        Tickets(engine),
    )
