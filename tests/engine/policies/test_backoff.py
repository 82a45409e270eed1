"""backoff_delay: capped exponential backoff with full jitter, and retry-after wins."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncwell.engine.policies import backoff_delay
from syncwell.workspace.policies import RetryPolicy

policies = st.builds(
    lambda base, factor: RetryPolicy(base_s=base, cap_s=base * factor),
    st.floats(min_value=0.001, max_value=100.0),
    st.floats(min_value=1.0, max_value=10_000.0),
)
attempts = st.one_of(
    st.integers(min_value=0, max_value=64), st.integers(min_value=0, max_value=10**6)
)


def ceiling(policy: RetryPolicy, attempt: int) -> Fraction:
    """The exact bound min(cap, base * 2**attempt), in rationals so no overflow can hide a bug."""
    if attempt > 4_000:  # 2**4000 dwarfs any float cap; skip building the huge number
        return Fraction(policy.cap_s)
    return min(Fraction(policy.cap_s), Fraction(policy.base_s) * (1 << attempt))


@given(policy=policies, attempt=attempts, seed=st.integers())
def test_delay_stays_within_the_capped_exponential(
    policy: RetryPolicy, attempt: int, seed: int
) -> None:
    """Without a retry-after, every delay lies in [0, min(cap, base * 2**attempt)], any attempt."""
    delay = backoff_delay(policy, attempt, rng=random.Random(seed))
    assert 0.0 <= delay <= ceiling(policy, attempt)


@given(
    policy=policies,
    attempt=attempts,
    seed=st.integers(),
    retry_after=st.floats(min_value=-10.0, max_value=1e6),
)
def test_retry_after_is_a_floor(
    policy: RetryPolicy, attempt: int, seed: int, retry_after: float
) -> None:
    """A retry-after is a floor on the delay (never negative) and adds nothing above it."""
    delay = backoff_delay(policy, attempt, rng=random.Random(seed), retry_after=retry_after)
    assert delay >= max(0.0, retry_after)
    assert delay <= max(ceiling(policy, attempt), Fraction(max(0.0, retry_after)))


@given(policy=policies, seed=st.integers())
def test_full_jitter_spans_zero_to_the_cap(policy: RetryPolicy, seed: int) -> None:
    """Across many draws at the cap the delays reach near both 0 and the cap (not equal jitter)."""
    rng = random.Random(seed)
    attempt = 64  # far past where base * 2**n meets any cap drawn here
    draws = [backoff_delay(policy, attempt, rng=rng) for _ in range(1_000)]
    # Equal jitter would keep every draw in [cap/2, cap]; full jitter goes below 5% of the cap.
    assert max(draws) >= 0.95 * policy.cap_s
    assert min(draws) <= 0.05 * policy.cap_s


def test_huge_attempt_does_not_overflow() -> None:
    """An absurd attempt number gives a delay within the cap instead of an OverflowError."""
    policy = RetryPolicy(base_s=0.5, cap_s=60.0)
    delay = backoff_delay(policy, 10**12, rng=random.Random(1))
    assert 0.0 <= delay <= 60.0


def test_first_retry_is_bounded_by_base() -> None:
    """Attempt 0 (the first retry) draws from [0, base_s]: the exponent starts at zero."""
    policy = RetryPolicy(base_s=0.5, cap_s=60.0)
    rng = random.Random(7)
    assert all(backoff_delay(policy, 0, rng=rng) <= 0.5 for _ in range(500))


def test_nan_retry_after_is_ignored() -> None:
    """A garbled (NaN) retry-after falls back to the jittered delay instead of poisoning it."""
    policy = RetryPolicy(base_s=1.0, cap_s=4.0)
    delay = backoff_delay(policy, 1, rng=random.Random(3), retry_after=math.nan)
    assert 0.0 <= delay <= 2.0


def test_negative_attempt_is_refused() -> None:
    """Attempt numbers start at 0; a negative one is a caller's bug and raises ValueError."""
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(RetryPolicy(), -1, rng=random.Random(0))
