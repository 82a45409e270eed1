"""OpenTelemetry traces around intake and delivery, opt-in through the standard variables.

Spans are made with the OpenTelemetry API, which does nothing until a tracer provider is set:
without configuration syncwell pays one no-op call per page and per batch. `syncwell run`
sets one up when ``OTEL_TRACES_EXPORTER`` asks for it (the variable of the OpenTelemetry
specification; ``OTEL_SERVICE_NAME`` names the service, default ``syncwell``).
"""

from __future__ import annotations

import os

import structlog
from opentelemetry import trace

__all__ = ["configure_from_environment", "tracer"]

log = structlog.get_logger("syncwell.tracing")


def tracer() -> trace.Tracer:
    """syncwell's tracer (from whatever provider is set, or none)."""
    return trace.get_tracer("syncwell")


def configure_from_environment() -> str | None:
    """Install a tracer provider if ``OTEL_TRACES_EXPORTER`` names one; the exporter chosen.

    ``console`` prints spans to stderr; ``otlp`` needs the ``opentelemetry-exporter-otlp``
    package and reads its own ``OTEL_EXPORTER_OTLP_*`` variables; ``none`` or unset: no traces.
    """
    wanted = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if wanted in ("", "none"):
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if wanted == "console":
        exporter = ConsoleSpanExporter()
    elif wanted == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]  # optional
                OTLPSpanExporter,
            )
        except ImportError:
            log.warning(
                "OTEL_TRACES_EXPORTER=otlp needs the OTLP exporter: "
                "pip install opentelemetry-exporter-otlp-proto-http; tracing stays off"
            )
            return None
        exporter = OTLPSpanExporter()
    else:
        log.warning(f"OTEL_TRACES_EXPORTER={wanted!r} is not known; use console, otlp or none")
        return None
    service = os.environ.get("OTEL_SERVICE_NAME", "syncwell")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return wanted
