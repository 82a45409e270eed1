"""OpenTelemetry: spans around intake and delivery, once a tracer provider is set."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from syncwell import Engine, load_workspace
from syncwell.measure.tracing import configure_from_environment

_EXPORTED = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """One provider for the process (OpenTelemetry allows setting it once)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTED))
    trace.set_tracer_provider(provider)
    return _EXPORTED


async def test_a_sync_leaves_intake_and_delivery_spans(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    """Each read and each delivery is a span, named and labelled with its flow."""
    for name in ("a", "b"):
        with sqlite3.connect(tmp_path / f"{name}.db") as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    with sqlite3.connect(tmp_path / "a.db") as db:
        db.executemany("INSERT INTO t VALUES (?, '2026-01-01')", [(i,) for i in range(20)])
    (tmp_path / "syncwell.yaml").write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: a, destination: b, stream: t, key: id, cursor: at}\n"
    )
    spans.clear()
    await Engine(load_workspace(tmp_path / "syncwell.yaml")).run(once=True)
    finished = spans.get_finished_spans()
    intake = [s for s in finished if s.name == "syncwell.intake"]
    delivery = [s for s in finished if s.name == "syncwell.delivery"]
    assert intake and delivery
    assert all(s.attributes and s.attributes["syncwell.flow"] == "f" for s in intake + delivery)
    assert sum(int(s.attributes["syncwell.written"]) for s in delivery if s.attributes) >= 20


def test_traces_stay_off_unless_the_environment_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset or `none` installs nothing; an unknown exporter is refused with a warning."""
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    assert configure_from_environment() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert configure_from_environment() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin-typo")
    assert configure_from_environment() is None
