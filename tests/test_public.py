"""The public surface: `syncwell`, `syncwell.errors` and `syncwell.testing` export what they say."""

from __future__ import annotations

import types

import pytest

import syncwell
import syncwell.errors
import syncwell.testing


@pytest.mark.parametrize("module", [syncwell, syncwell.errors, syncwell.testing])
def test_all_is_sorted_and_complete(module: types.ModuleType) -> None:
    """`__all__` is sorted, names only what exists, and misses no public class or function."""
    exported = list(module.__all__)
    assert exported == sorted(exported)
    assert all(hasattr(module, name) for name in exported)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and isinstance(value, type | types.FunctionType)
        and getattr(value, "__module__", "").startswith(module.__name__)
    }
    assert public <= set(exported)
