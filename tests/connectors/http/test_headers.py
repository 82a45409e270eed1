"""Rate-limit headers: every known form is read, garbage is ignored, Retry-After wins."""

from __future__ import annotations

import email.utils
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncwell.connectors.http.pagination import next_link
from syncwell.connectors.rate_limit_headers import RateLimitInfo, parse_rate_limit
from tests.connectors.http.api import ApiState
from tests.connectors.http.conftest import RecordingBudget, http_settings, read_all, spec

NOW = 1_700_000_000.0

CASES: dict[str, tuple[dict[str, str], RateLimitInfo]] = {
    "nothing": ({"Content-Type": "application/json"}, RateLimitInfo()),
    "retry-after seconds": ({"Retry-After": "120"}, RateLimitInfo(retry_after_s=120.0)),
    "retry-after date": (
        {"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)},
        RateLimitInfo(retry_after_s=30.0),
    ),
    "retry-after date past": (
        {"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)},
        RateLimitInfo(retry_after_s=0.0),
    ),
    "x-ratelimit delay": (
        {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "40", "X-RateLimit-Reset": "30"},
        RateLimitInfo(None, 100, 40, 30.0, None),
    ),
    "x-ratelimit unix reset": (
        {
            "x-ratelimit-limit": "100",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": "1700000045",
        },
        RateLimitInfo(None, 100, 0, 45.0, None),
    ),
    "x-ratelimit unix ms reset": (
        {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "1700000010000"},
        RateLimitInfo(None, None, 5, 10.0, None),
    ),
    "x-rate-limit spelling": (
        {"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "59"},
        RateLimitInfo(None, 60, 59, None, None),
    ),
    "draft 6 separate": (
        {"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "1"},
        RateLimitInfo(None, 10, 9, 1.0, None),
    ),
    "draft 7": (
        {"RateLimit": "limit=100, remaining=50, reset=30", "RateLimit-Policy": "100;w=60"},
        RateLimitInfo(None, 100, 50, 30.0, 60.0),
    ),
    "draft 7 two policies": (
        {
            "RateLimit": "limit=1000, remaining=5, reset=3",
            "RateLimit-Policy": "100;w=1, 1000;w=3600",
        },
        RateLimitInfo(None, 1000, 5, 3.0, 3600.0),
    ),
    "structured": (
        {"RateLimit": '"default";r=50;t=30', "RateLimit-Policy": '"default";q=100;w=60'},
        RateLimitInfo(None, 100, 50, 30.0, 60.0),
    ),
    "structured binding policy": (
        {
            "RateLimit": '"burst";r=90;t=1, "daily";r=7;t=3000',
            "RateLimit-Policy": '"burst";q=100;w=1, "daily";q=1000;w=86400',
        },
        RateLimitInfo(None, 1000, 7, 3000.0, 86400.0),
    ),
    "retry-after wins": (
        {"Retry-After": "5", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"},
        RateLimitInfo(5.0, 100, None, None, None),
    ),
    "garbage ignored": (
        {"Retry-After": "soon", "X-RateLimit-Limit": "lots", "RateLimit": "limit=;;,,="},
        RateLimitInfo(),
    ),
    "nan is not a number": ({"Retry-After": "nan", "X-RateLimit-Reset": "inf"}, RateLimitInfo()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_known_forms(case: str) -> None:
    """Each header form reads as the table says (IETF before X-, Retry-After above all)."""
    headers, expected = CASES[case]
    assert parse_rate_limit(headers, NOW) == expected


HEADER_NAMES = st.sampled_from(
    [
        "Retry-After",
        "RateLimit",
        "RateLimit-Policy",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-Rate-Limit-Reset",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(),
    st.from_regex(r"[\"a-z0-9=;, .:-]{0,40}", fullmatch=True),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@settings(deadline=None)  # a loaded CI machine must not fail it for being slow
@given(st.dictionaries(HEADER_NAMES, HEADER_VALUES), st.floats(0, 4e9))
def test_any_header_text_never_raises(headers: dict[str, str], now: float) -> None:
    """Whatever the headers hold, parsing returns finite, non-negative numbers or None."""
    info = parse_rate_limit(headers, now)
    for value in (info.retry_after_s, info.limit, info.remaining, info.reset_after_s):
        assert value is None or (math.isfinite(value) and value >= 0)
    assert info.window_s is None or math.isfinite(info.window_s)


@given(st.text())
def test_any_link_header_never_raises(value: str) -> None:
    """A Link header of any text gives a next URL or None, never an error."""
    assert next_link(value) is None or isinstance(next_link(value), str)


def test_link_header_forms() -> None:
    """rel=next is found quoted, unquoted, among other rels and after other links."""
    assert next_link('<https://a/x?page=2>; rel="next"') == "https://a/x?page=2"
    assert next_link('<https://a/1>; rel="prev", </x?p=3>; rel=next') == "/x?p=3"
    assert next_link('<https://a/3>; title="n, m"; rel="last next"') == "https://a/3"
    assert next_link('<https://a/1>; rel="prev"') is None


async def test_every_answer_teaches_the_budget(
    api: ApiState, server_url: str, source_for: Any, budget: RecordingBudget
) -> None:
    """Each response's headers reach the budget: learn() for limits, pause_for() for waits."""
    read = {"path": "/cursor/items", "records": "results"}
    source = await source_for(http_settings(server_url, streams={"contacts": {"read": read}}))
    api.headers = {"RateLimit": '"d";r=50;t=30', "RateLimit-Policy": '"d";q=100;w=60'}
    await read_all(source, spec())
    api.headers = {"Retry-After": "2", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0"}
    await read_all(source, spec())
    assert budget.learned == [(100, 50, 30.0, 60.0), (100, None, None, None)]
    assert budget.pauses == [2.0]
    assert budget.acquired == 2
