"""A manual step's `manual:`: how often a person does it and how long it takes, as the
workspace's other durations; only for `mode: manual`, with a clear error elsewhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syncwell.errors import WorkspaceError
from syncwell.workspace import Workspace, parse_workspace

WORKSPACE = """\
core: core
systems:
  core: {{kind: sqlite, path: core.db}}
  projects: {{kind: sqlite, path: projects.db}}
flows:
  onboarding:
    source: core
    destination: projects
    stream: contacts
    key: email
    mode: {mode}
{manual}
"""


def _load(mode: str, manual: str = "") -> Workspace:
    text = WORKSPACE.format(mode=mode, manual=f"    manual: {manual}" if manual else "")
    return parse_workspace(text, "syncwell.yaml", Path("/tmp"), env={})


def test_a_manual_step_says_how_often_and_how_long() -> None:
    """`{every: 1d, takes: 20m}` reads as durations; a change waits up to both."""
    manual = _load("manual", "{every: 1d, takes: 20m}").flows["onboarding"].manual
    assert manual is not None
    assert manual.every == timedelta(days=1)
    assert manual.takes == timedelta(minutes=20)
    assert manual.wait_s == 86400 + 1200


def test_its_fields_have_defaults_and_a_manual_flow_need_not_declare_it() -> None:
    """`manual: {}` is once a day, taking no time counted; without it, nothing is declared."""
    declared = _load("manual", "{}").flows["onboarding"].manual
    assert declared is not None and declared.wait_s == 86400
    assert _load("manual").flows["onboarding"].manual is None


def test_manual_on_a_flow_syncwell_runs_is_refused_where_it_is_written() -> None:
    """A polled flow with `manual:` is refused at its line, saying what to write."""
    with pytest.raises(WorkspaceError) as refused:
        _load("poll", "{every: 1d}")
    message = str(refused.value)
    assert "syncwell.yaml:12" in message
    assert "flows.onboarding.manual" in message
    assert "mode: manual" in message


@pytest.mark.parametrize("manual", ["{every: 0s}", "{takes: soon}", "{often: 1d}"])
def test_a_bad_manual_is_refused(manual: str) -> None:
    """A zero `every`, a `takes` that is not a duration and an unknown field are refused."""
    with pytest.raises(WorkspaceError, match="manual"):
        _load("manual", manual)
