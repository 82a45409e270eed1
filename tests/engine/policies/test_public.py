"""The policies package's public surface."""

from __future__ import annotations

import syncwell.engine.policies as policies


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and every name in it exists, so `import *` and the docs agree."""
    assert policies.__all__ == sorted(policies.__all__)
    for name in policies.__all__:
        assert hasattr(policies, name)
