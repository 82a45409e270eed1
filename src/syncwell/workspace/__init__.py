"""The workspace: syncwell.yaml as checked, frozen values with file:line errors.

    from syncwell.workspace import load_workspace

    workspace = load_workspace("syncwell.yaml")
    for flow in workspace.flows.values():
        print(flow.name, flow.source, "->", flow.destination, flow.mode)

Reference: docs/workspace.md.
"""

from __future__ import annotations

from syncwell.workspace.deletes import DeleteDetection
from syncwell.workspace.durations import format_duration, parse_duration
from syncwell.workspace.load import load_workspace, parse_workspace
from syncwell.workspace.model import ConnectorSettings, Flow, Slo, System, Workflow, Workspace
from syncwell.workspace.modes import DEFAULT_INTERVALS, Mode
from syncwell.workspace.policies import BreakerPolicy, RateLimitPolicy, RetryPolicy
from syncwell.workspace.problems import WorkspaceProblems
from syncwell.workspace.transport import TransportSettings
from syncwell.workspace.warnings import CheckWarning, workspace_warnings

__all__ = [
    "DEFAULT_INTERVALS",
    "BreakerPolicy",
    "CheckWarning",
    "ConnectorSettings",
    "DeleteDetection",
    "Flow",
    "Mode",
    "RateLimitPolicy",
    "RetryPolicy",
    "Slo",
    "System",
    "TransportSettings",
    "Workflow",
    "Workspace",
    "WorkspaceProblems",
    "format_duration",
    "load_workspace",
    "parse_duration",
    "parse_workspace",
    "workspace_warnings",
]
