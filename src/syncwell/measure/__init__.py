"""Measurements: what every flow did, aggregated per minute (never a row per record)."""

from __future__ import annotations

from syncwell.measure.incidents import DriftWindow, FlowHealth, IncidentChange, IncidentWatch
from syncwell.measure.minutes import LATENCY_BOUNDS_MS, FlowMinute, MinuteRecorder
from syncwell.measure.samples import FlowSample

__all__ = [
    "LATENCY_BOUNDS_MS",
    "DriftWindow",
    "FlowHealth",
    "FlowMinute",
    "FlowSample",
    "IncidentChange",
    "IncidentWatch",
    "MinuteRecorder",
]
