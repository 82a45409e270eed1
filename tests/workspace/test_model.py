"""The models used directly from code, outside the loader."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from syncwell.connectors.sqlite.settings import Settings as SqliteSettings
from syncwell.workspace import DEFAULT_INTERVALS, Flow, Mode, System, Workspace

from .conftest import Problems


def _flow(**fields: object) -> Flow:
    base: dict[str, object] = {"name": "f", "source": "a", "destination": "b", "stream": "t"}
    return Flow.model_validate({**base, "key": "id", "cursor": "u", **fields})


def _workspace(*flows: Flow) -> Workspace:
    systems = {
        name: System(name=name, settings=SqliteSettings(kind="sqlite", path=f"/{name}.db"))
        for name in ("a", "b")
    }
    return Workspace(
        name="w", path=Path("/w/syncwell.yaml"), root=Path("/w"), state="sqlite:////w/s.db",
        core="a", systems=systems, flows={flow.name: flow for flow in flows},
    )  # fmt: skip


@pytest.mark.parametrize("mode", list(Mode))
def test_interval_defaults_follow_the_mode(mode: Mode) -> None:
    """A flow without an interval gets its mode's default interval."""
    assert _flow(mode=mode).interval == DEFAULT_INTERVALS[mode]


def test_explicit_null_interval_takes_the_default() -> None:
    """`interval:` left empty means the mode's default, not "never"."""
    assert _flow(mode="batch", interval=None).interval == DEFAULT_INTERVALS[Mode.BATCH]


def test_flows_are_frozen() -> None:
    """A loaded flow cannot be changed in place."""
    with pytest.raises(ValidationError):
        _flow().batch_size = 1


def test_workspace_built_in_code_is_checked() -> None:
    """Building a Workspace directly runs the same cross-checks as the loader."""
    with pytest.raises(ValidationError, match="unknown system 'c'"):
        _workspace(_flow(destination="c"))


def test_workspace_built_in_code_accepts_a_consistent_one() -> None:
    """A consistent workspace built in code is accepted as is."""
    workspace = _workspace(_flow(interval="2m"))
    assert workspace.flows["f"].interval == timedelta(minutes=2)
    assert workspace.systems["a"].kind == "sqlite"


def test_a_flow_reports_all_its_own_problems(problems: Problems) -> None:
    """Two mistakes in one flow (a bad conflict, fields without the key) are both reported."""
    text = (
        "systems: {a: {kind: sqlite, path: a}, b: {kind: sqlite, path: b}}\n"
        "flows:\n"
        "  f:\n"
        "    source: a\n"
        "    destination: b\n"
        "    stream: t\n"
        "    key: id\n"
        "    fields: [name]\n"
        "    conflict: nobody\n"
    )
    assert [(p.line, p.key) for p in problems(text)] == [
        (8, "flows.f.fields"),
        (9, "flows.f.conflict"),
    ]
