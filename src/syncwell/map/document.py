"""The workflow map as a JSON document for scripts: ``syncwell map --format json``.

The shape is stable; docs/map.md describes it. Keys are only ever added, never renamed. Durations
are seconds (``interval_s`` is null for manual flows), rates are 0 to 1, and lists keep the order
of the workspace file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypedDict

from syncwell.map.labels import Health, flow_health
from syncwell.workspace import Flow, Mode, Workspace

__all__ = [
    "FlowEntry",
    "MapDocument",
    "SloEntry",
    "SystemEntry",
    "WorkflowEntry",
    "map_document",
    "render_json",
]


class SystemEntry(TypedDict):
    """One system: its name, connector kind, whether it is core, whether it is emphasised."""

    name: str
    kind: str
    core: bool
    highlighted: bool


class SloEntry(TypedDict):
    """A flow's SLO: the freshness it must keep, in seconds, and its success rate, 0 to 1."""

    freshness_s: float
    success_rate: float


class FlowEntry(TypedDict):
    """One flow: where it goes, how often, its SLO, its integration and its health."""

    name: str
    source: str
    destination: str
    mode: str
    interval_s: float | None
    slo: SloEntry
    manual: bool
    integration: str
    health: Health
    highlighted: bool


class WorkflowEntry(TypedDict):
    """One workflow: its flows, in the order work travels them."""

    name: str
    description: str
    flows: list[str]


class MapDocument(TypedDict):
    """The whole map."""

    workspace: str
    core: str | None
    systems: list[SystemEntry]
    flows: list[FlowEntry]
    workflows: list[WorkflowEntry]


def map_document(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> MapDocument:
    """`workspace` as plain data, ready for `json.dumps`.

    Args:
        workspace: the workspace to describe.
        highlight: a flow or system to mark ``highlighted`` (the constraint).
        health: each flow's health; flows not in it are ``unknown``.
    """
    return {
        "workspace": workspace.name,
        "core": workspace.core,
        "systems": [
            {
                "name": name,
                "kind": system.kind,
                "core": name == workspace.core,
                "highlighted": name == highlight,
            }
            for name, system in workspace.systems.items()
        ],
        "flows": [
            _flow(flow, flow_health(name, health), highlighted=name == highlight)
            for name, flow in workspace.flows.items()
        ],
        "workflows": [
            {"name": wf.name, "description": wf.description, "flows": list(wf.flows)}
            for wf in workspace.workflows.values()
        ],
    }


def render_json(
    workspace: Workspace,
    *,
    highlight: str | None = None,
    health: Mapping[str, Health] | None = None,
) -> str:
    """`map_document` as indented JSON text, ending in a newline."""
    document = map_document(workspace, highlight=highlight, health=health)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _flow(flow: Flow, health: Health, *, highlighted: bool) -> FlowEntry:
    return {
        "name": flow.name,
        "source": flow.source,
        "destination": flow.destination,
        "mode": flow.mode.value,
        "interval_s": flow.interval.total_seconds() if flow.interval else None,
        "slo": {
            "freshness_s": flow.slo.freshness.total_seconds(),
            "success_rate": flow.slo.success_rate,
        },
        "manual": flow.mode is Mode.MANUAL,
        "integration": flow.integration,
        "health": health,
        "highlighted": highlighted,
    }
