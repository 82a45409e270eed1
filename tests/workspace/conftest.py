"""Helpers for the workspace tests."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from syncwell.errors import WorkspaceError
from syncwell.workspace import WorkspaceProblems, parse_workspace

Problems = Callable[..., tuple[WorkspaceError, ...]]


@pytest.fixture
def problems(tmp_path: Path) -> Problems:
    """Parse dedented YAML that must fail; return the problems it reports."""

    def parse(text: str, env: Mapping[str, str] | None = None) -> tuple[WorkspaceError, ...]:
        with pytest.raises(WorkspaceProblems) as caught:
            parse_workspace(
                textwrap.dedent(text).lstrip("\n"), "syncwell.yaml", tmp_path, env=env or {}
            )
        return caught.value.problems

    return parse
