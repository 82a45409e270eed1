"""Whatever the file holds, loading it either succeeds or raises WorkspaceError."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell.errors import WorkspaceError
from syncwell.workspace import parse_workspace

_WORDS = st.sampled_from(
    ["systems", "flows", "workflows", "defaults", "core", "kind", "sqlite", "postgres", "path",
     "source", "destination", "stream", "key", "cursor", "mode", "interval", "slo", "retry",
     "fields", "a", "b", "manual", "30s", "${X}", "$$", "1h30m", "version", "state"]
)  # fmt: skip
_SCALARS = st.one_of(_WORDS, st.integers(-5, 200_000), st.floats(allow_nan=False), st.none())
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_WORDS, inner, max_size=5)
    ),
    max_leaves=30,
)


def _loads_or_explains(text: str) -> None:
    # The root is never touched on disk: relative paths are only joined to it.
    try:
        parse_workspace(text, "syncwell.yaml", Path("/fuzz"), env={})
    except WorkspaceError as error:
        assert str(error)
        assert all(problem.message for problem in getattr(error, "problems", ()))


@settings(max_examples=300)
@given(st.dictionaries(_WORDS, _VALUES, max_size=6))
def test_random_structures_never_crash(data: dict[str, object]) -> None:
    """Random YAML mappings built from workspace words fail only with a WorkspaceError."""
    _loads_or_explains(yaml.safe_dump(data))


@given(st.lists(st.sampled_from([*"ab:-[]{}#&*!|>'\"\t\n ,$", "${", "<<"])).map("".join))
def test_random_text_never_crashes(text: str) -> None:
    """Random text made of YAML's special characters fails only with a WorkspaceError."""
    _loads_or_explains(text)
