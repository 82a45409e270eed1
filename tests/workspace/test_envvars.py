"""${VAR} expansion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.workspace.envvars import expand_env


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://${USER}@db/app", "postgresql://ann@db/app"),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY}", ""),
        ("price $$5", "price $5"),
        ("pa$word", "pa$word"),
        ("$${USER}", "${USER}"),
        ("${NESTED}", "${USER}"),
    ],
)
def test_expansion(text: str, expected: str) -> None:
    """Each form expands as documented, once, and a lone $ stays as written."""
    env = {"USER": "ann", "EMPTY": "", "NESTED": "${USER}"}
    assert expand_env(text, env) == expected


def test_unset_variable_names_it_and_says_how_to_fix() -> None:
    """An unset variable without a default is an error naming it, with export as the fix."""
    with pytest.raises(ValueError, match=r"'PGPASSWORD' is not set; export it"):
        expand_env("${PGPASSWORD}", {})


@pytest.mark.parametrize("text", ["${", "a ${b", "${1X}", "${}", "${A B}"])
def test_malformed_references_are_errors(text: str) -> None:
    """A ${ that is not a well-formed reference is refused rather than passed on."""
    with pytest.raises(ValueError, match=r"\$\$"):
        expand_env(text, {})


@given(st.text())
def test_escaped_text_expands_to_itself(text: str) -> None:
    """Any text with every $ doubled comes back unchanged: $$ is a faithful escape."""
    assert expand_env(text.replace("$", "$$"), {}) == text
