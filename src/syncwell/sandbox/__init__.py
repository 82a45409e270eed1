"""Realistic fake external tools with fault knobs: a CRM, an email platform, a project tool.

The sandbox is a separate program that syncwell talks to over HTTP like any other tool, so it
imports nothing from the rest of syncwell. Run it with `python -m syncwell.sandbox`, from
async code with `async with Sandbox(config)`, or from sync code and tests with
`SandboxThread` and `SandboxProcess`. `docs/sandbox.md` describes every endpoint and knob.
"""

from __future__ import annotations

from syncwell.sandbox.command import main, run_sandbox
from syncwell.sandbox.config import (
    CrmConfig,
    EmailConfig,
    FaultSettings,
    Outage,
    PeriodicOutage,
    ProjectConfig,
    SandboxConfig,
    WebhookSubscription,
    WindowOutage,
)
from syncwell.sandbox.harness import SandboxProcess, SandboxThread
from syncwell.sandbox.server import Sandbox, SandboxEndpoints, serve_sandbox

__all__ = [
    "CrmConfig",
    "EmailConfig",
    "FaultSettings",
    "Outage",
    "PeriodicOutage",
    "ProjectConfig",
    "Sandbox",
    "SandboxConfig",
    "SandboxEndpoints",
    "SandboxProcess",
    "SandboxThread",
    "WebhookSubscription",
    "WindowOutage",
    "main",
    "run_sandbox",
    "serve_sandbox",
]
