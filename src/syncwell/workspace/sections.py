"""Building the `defaults`, `systems`, `flows` and `workflows` sections from the file's data.

Each entry is validated on its own, so one broken flow does not hide the mistakes of the next;
every problem is added to a shared `Findings` and the loader raises them together.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from syncwell.workspace.checks import flow_problems, system_ref_problems, workflow_problems
from syncwell.workspace.explain import explain, fields_of, unknown_field
from syncwell.workspace.kinds import SETTINGS_BY_KIND, resolve_paths
from syncwell.workspace.model import Flow, System, Workflow
from syncwell.workspace.policies import (
    STANDARD_WEBHOOKS_SCHEDULE,
    BreakerPolicy,
    RateLimitPolicy,
    RetryPolicy,
)
from syncwell.workspace.problems import KeyPath, Problem, did_you_mean
from syncwell.workspace.webhooks import WebhookIntake

__all__ = ["Findings", "build_defaults", "build_flows", "build_systems", "build_workflows"]

_M = TypeVar("_M", bound=BaseModel)
_POLICIES: Mapping[str, type[BaseModel]] = {
    "rate_limit": RateLimitPolicy,
    "retry": RetryPolicy,
    "breaker": BreakerPolicy,
}
# System fields beside the connector's settings that are not policies.
_SYSTEM_EXTRAS: Mapping[str, type[BaseModel]] = {"webhooks": WebhookIntake}
# A signed webhook sent out is retried over about a day, then dead-lettered (Standard Webhooks).
_KIND_RETRY: Mapping[str, Mapping[str, object]] = {
    "webhook_out": {"schedule": STANDARD_WEBHOOKS_SCHEDULE, "exhausted": "dead_letter"},
}
# Fields the loader fills in from the entry's key and the workspace; the file must not set them.
_HIDDEN = ("name", "core")


@dataclass
class Findings:
    """Problems found so far, and where a model's key paths differ from the file's."""

    problems: list[Problem] = field(default_factory=list)
    renames: dict[KeyPath, KeyPath] = field(default_factory=dict)

    def validate(
        self,
        model: type[_M],
        data: object,
        at: KeyPath,
        *,
        hidden: Collection[str] = (),
        also: Collection[str] = (),
    ) -> _M | None:
        """`model` validated from `data`, or None with the errors added as problems."""
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self.problems += explain(error, at, model, hidden=hidden, also=also)
            return None


class _Defaults(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = Field(default_factory=BreakerPolicy)


def build_defaults(raw: object, found: Findings) -> Mapping[str, object]:
    """The `defaults` section as written, once it is known to be valid (else empty)."""
    if raw is None:
        return {}
    valid = found.validate(_Defaults, raw, ("defaults",))
    return raw if valid is not None and isinstance(raw, dict) else {}


def build_systems(
    raw: Mapping[str, object], defaults: Mapping[str, object], root: Path, found: Findings
) -> dict[str, System]:
    """Each valid system; each system's policy fields fall back to `defaults`, field by field."""
    systems = {}
    for name, entry in raw.items():
        at: KeyPath = ("systems", name)
        if not isinstance(entry, dict):
            found.problems.append(Problem(at, f"system '{name}' must be a mapping with `kind:`"))
            continue
        settings = _settings(entry, at, root, found)
        kind_defaults = {
            **defaults,
            "retry": _merged(_KIND_RETRY.get(str(entry.get("kind"))), defaults.get("retry")),
        }
        policies = {
            key: found.validate(model, _merged(kind_defaults.get(key), entry.get(key)), (*at, key))
            for key, model in _POLICIES.items()
            # An empty `retry:` means "the defaults", as if it were not written.
            if entry.get(key) is not None or kind_defaults.get(key) is not None
        }
        extras = {
            key: found.validate(model, entry[key], (*at, key))
            for key, model in _SYSTEM_EXTRAS.items()
            if entry.get(key) is not None
        }
        if settings is not None and None not in (*policies.values(), *extras.values()):
            systems[name] = System.model_validate(
                {"name": name, "settings": settings, **policies, **extras}
            )
    return systems


def _settings(entry: dict[str, object], at: KeyPath, root: Path, found: Findings) -> object:
    kind = entry.get("kind")
    supported = ", ".join(SETTINGS_BY_KIND)
    if kind is None:
        message = f"'kind' is required; supported kinds: {supported}"
        found.problems.append(Problem((*at, "kind"), message))
        return None
    model = SETTINGS_BY_KIND.get(str(kind))
    if model is None:
        guess = did_you_mean(str(kind), SETTINGS_BY_KIND)
        message = f"unknown kind '{kind}'{guess or '.'} Supported kinds: {supported}"
        found.problems.append(Problem((*at, "kind"), message))
        return None
    beside = (*_POLICIES, *_SYSTEM_EXTRAS)
    data = {key: value for key, value in entry.items() if key not in beside}
    settings = found.validate(model, data, at, also=beside)
    return None if settings is None else resolve_paths(settings, root)


def _merged(default: object, own: object) -> object:
    if isinstance(default, dict) and isinstance(own, dict):
        return {**default, **own}
    return default if own is None else own


def build_flows(
    raw: Mapping[str, object], core: str | None, systems: Collection[str], found: Findings
) -> dict[str, Flow]:
    """Each valid flow, in file order."""
    flows = {}
    for name, entry in raw.items():
        at: KeyPath = ("flows", name)
        if not isinstance(entry, dict):
            message = f"flow '{name}' must be a mapping (source:, destination:, stream:, key:, ...)"
            found.problems.append(Problem(at, message))
            continue
        _reject_hidden(entry, at, Flow, found)
        found.problems += system_ref_problems(name, entry, systems)
        flow = found.validate(Flow, {**entry, "name": name, "core": core}, at, hidden=_HIDDEN)
        if flow is not None:
            found.problems += flow_problems(flow)
            flows[name] = flow
    return flows


def build_workflows(
    raw: Mapping[str, object],
    flows: Mapping[str, Flow],
    flow_names: Collection[str],
    found: Findings,
) -> dict[str, Workflow]:
    """Each valid workflow; the shorthand `name: [a, b]` means `name: {flows: [a, b]}`."""
    workflows = {}
    for name, entry in raw.items():
        at: KeyPath = ("workflows", name)
        if isinstance(entry, list):
            found.renames[(*at, "flows")] = at
            entry = {"flows": entry}
        if not isinstance(entry, dict):
            message = (
                "a workflow is a list of flow names, or a mapping with description: and flows:"
            )
            found.problems.append(Problem(at, message))
            continue
        _reject_hidden(entry, at, Workflow, found)
        workflow = found.validate(Workflow, {**entry, "name": name}, at, hidden=_HIDDEN)
        if workflow is not None:
            found.problems += workflow_problems(workflow, flow_names, flows)
            workflows[name] = workflow
    return workflows


def _reject_hidden(
    entry: Mapping[str, object], at: KeyPath, model: type[BaseModel], found: Findings
) -> None:
    for key in _HIDDEN:
        if key in entry:
            message = unknown_field(key, fields_of(model, _HIDDEN))
            if key == "name":
                message += "; an entry's name is its key in the file"
            found.problems.append(Problem((*at, key), message))
