"""Incremental filters in the API's own syntax: each shape sent as the API reads it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from syncwell.connectors.http.cursors import micros
from syncwell.connectors.http.endpoints import ReadEndpoint
from syncwell.connectors.http.filters import read_query
from syncwell.connectors.http.since import resolution_us, written
from tests.connectors.http.api import ApiState, contact
from tests.connectors.http.conftest import http_settings, ids, read_all, spec
from tests.connectors.http.filter_api import serving

SHAPES: dict[str, dict[str, Any]] = {
    "operator in the value": {
        "path": "/op/items",
        "incremental": {"params": {"modified": ">={since}"}},
    },
    "NocoDB-like query language": {
        "path": "/noco/items",
        "incremental": {"params": {"where": "(updatedAt,gte,exactDate,{since:%Y-%m-%d %H:%M:%S})"}},
    },
    "Parse-like JSON where, as an object": {
        "path": "/parse/items",
        "incremental": {
            "params": {
                "where": {"updatedAt": {"$gte": {"__type": "Date", "iso": "{since:iso_ms}"}}}
            }
        },
    },
    "Parse-like JSON where, as text": {
        "path": "/parse/items",
        "incremental": {
            "params": {
                "where": '{"updatedAt": {"$gte": {"__type": "Date", "iso": "{since:iso_ms}"}}}'
            }
        },
    },
    "time in the path": {
        "path": "/op/items",
        "incremental": {"path": "/since/{since}/items"},
    },
    "POST body, unix ms": {
        "path": "/search/items",
        "method": "POST",
        "body": {"limit": 100},
        "incremental": {"body": {"query": {"updated": {"gte": "{since:unix_ms}"}}}},
    },
    "local time in Europe/Berlin": {
        "path": "/local/items",
        "incremental": {
            "params": {"changed_after": "{since:%d.%m.%Y %H:%M}"},
            "timezone": "Europe/Berlin",
        },
    },
}


@pytest.fixture(scope="module")
def filter_url() -> Iterator[str]:
    with serving() as url:
        yield url


def settings_for(base_url: str, read: dict[str, Any]) -> Any:
    return http_settings(base_url, streams={"contacts": {"read": {"records": "results", **read}}})


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_each_shape_reads_an_edit_and_nothing_else(
    shape: str, api: ApiState, filter_url: str, source_for: Any
) -> None:
    """After a full read, an edit arrives through the filter, the check passes, no 400."""
    api.reset(contacts=20)
    source = await source_for(settings_for(filter_url, SHAPES[shape]))
    stream = spec(lookback_s=0)
    full = await read_all(source, stream)
    assert len(ids(full)) == 20
    api.contacts[3] = contact(3, minutes=500)
    api.requests.clear()
    pairs = await read_all(source, stream, full[-1][1])
    assert ids(pairs) == ["c0003"]
    mark = pairs[-1][1]
    assert mark["checked"] is not None and mark["newest"][0] == ["c0003", "2024-01-01T08:20:00Z"]
    assert len(api.requests) == 2  # the check, then the read


async def test_what_each_shape_sends(api: ApiState) -> None:
    """The filled templates: escaped in the path, merged into the body, JSON in a param."""
    at = micros("2024-01-01T00:19:00Z")
    assert at is not None

    def sent(shape: str) -> Any:
        endpoint = ReadEndpoint.model_validate({"records": "results", **SHAPES[shape]})
        return read_query(endpoint, at)

    assert sent("operator in the value").params == {"modified": ">=2024-01-01T00:19:00Z"}
    noco = sent("NocoDB-like query language").params["where"]
    assert noco == "(updatedAt,gte,exactDate,2024-01-01 00:19:00)"
    parse = sent("Parse-like JSON where, as an object").params["where"]
    assert parse == '{"updatedAt":{"$gte":{"__type":"Date","iso":"2024-01-01T00:19:00.000Z"}}}'
    assert sent("time in the path").path == "/since/2024-01-01T00%3A19%3A00Z/items"
    assert sent("POST body, unix ms").body == {
        "limit": 100,
        "query": {"updated": {"gte": 1704068340000}},
    }
    berlin = sent("local time in Europe/Berlin").params
    assert berlin == {"changed_after": "01.01.2024 01:19"}
    full = read_query(
        ReadEndpoint.model_validate({"records": "r", **SHAPES["time in the path"]}), None
    )
    assert full.path == "/op/items" and full.params == {}


async def test_the_param_shorthand_still_means_one_parameter() -> None:
    """`param:` + `format:` is the same as params: {param: '{since:format}'}."""
    endpoint = ReadEndpoint.model_validate(
        {
            "path": "/x",
            "params": {"limit": 10, "archived": False},
            "incremental": {"param": "updated_after", "format": "unix_s"},
        }
    )
    sent = read_query(endpoint, 1_700_000_000_123_456)
    assert sent.params == {"limit": "10", "archived": "false", "updated_after": "1700000000"}


@pytest.mark.parametrize(
    ("incremental", "says"),
    [
        ({"params": {"q": "{since:isox}"}}, "unknown format 'isox'"),
        ({"params": {"q": "updated>2024"}}, "nothing says where the time goes"),
        ({"params": {"q": "{since:%H:%M}"}}, "does not write the date"),
        ({"format": "unix_ms", "params": {"q": "{since}"}}, "format: goes with param:"),
        ({"param": "q", "params": {"q": "{since}"}}, "keep one of the two"),
        ({"param": "q", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"body": {"q": "{since}"}}, "set read method: POST"),
        ({"path": "/lists/{list_id}/since/{since}"}, "{list_id} is not filled in a read path"),
    ],
)
def test_a_wrong_filter_is_refused_at_load_with_the_fix(
    incremental: dict[str, Any], says: str
) -> None:
    """Each mistake in an incremental block is refused when the workspace loads, with the fix."""
    with pytest.raises(ValidationError, match=says):
        ReadEndpoint.model_validate({"path": "/x", "incremental": incremental})


def test_check_can_be_turned_off_and_tuned() -> None:
    """`check: false` turns the self-check off; its fields have defaults."""
    off = ReadEndpoint.model_validate({"path": "/x", "incremental": {"param": "q", "check": False}})
    tuned = ReadEndpoint.model_validate(
        {"path": "/x", "incremental": {"param": "q", "check": {"every_s": 0}}}
    )
    assert off.incremental is not None and off.incremental.check is None
    assert tuned.incremental is not None and tuned.incremental.check is not None
    assert tuned.incremental.check.every_s == 0 and tuned.incremental.check.max_pages == 3


FORMATS = ["iso", "iso_ms", "date", "unix_s", "unix_ms", "%Y-%m-%d %H:%M", "%d/%m/%Y"]
MOMENTS = st.integers(min_value=0, max_value=4_000_000_000 * 1_000_000)
ZONES = st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"])


@given(at=MOMENTS, form=st.sampled_from(FORMATS), zone=ZONES)
def test_a_written_time_never_lies_after_the_moment(at: int, form: str, zone: str) -> None:
    """Every format rounds down, by less than its resolution: a filter only widens."""
    where = dt.UTC if zone == "UTC" else ZoneInfo(zone)
    text = written(at, form, where)
    if form in ("unix_s", "unix_ms"):
        back = int(text) * (1_000_000 if form == "unix_s" else 1000)
    elif form == "date":
        day = dt.date.fromisoformat(text)
        back = micros(dt.datetime.combine(day, dt.time(), where).isoformat())
    elif form.startswith("%"):
        local = dt.datetime.strptime(text, form).replace(tzinfo=where)
        back = micros(local.isoformat())
    else:
        back = micros(text)
    assert back is not None
    # Two steps: a local day across a DST change is 25 hours.
    assert at - 2 * resolution_us(form) < back <= at


def _documented_shapes() -> list[dict[str, Any]]:
    """Each `incremental:` of docs/connectors/http.md's "One example per shape"."""
    text = (Path(__file__).parents[3] / "docs" / "connectors" / "http.md").read_text()
    section = text[text.index("#### One example per shape") :]
    block = section[section.index("```yaml\n") + 8 :]
    block = block[: block.index("```")]
    shapes = []
    for part in block.split("\nincremental")[1:]:
        lines = ("incremental" + part).split("\n")
        kept = lines[: next((i for i, line in enumerate(lines) if line.startswith("#")), None)]
        shapes.append(yaml.safe_load("\n".join(kept))["incremental"])
    return shapes


def test_every_documented_shape_loads_and_asks_from_the_right_moment() -> None:
    """The docs' examples are valid, and each writes 20 November 2026 as its API wants."""
    shapes = _documented_shapes()
    assert len(shapes) == 7
    at = micros("2026-11-20T00:00:00Z")
    assert at is not None
    for shape in shapes:
        post = {"method": "POST", "body": {"limit": 100}} if "body" in shape else {}
        endpoint = ReadEndpoint.model_validate({"path": "/x", "incremental": shape, **post})
        sent = read_query(endpoint, at)
        text = f"{sent.path} {dict(sent.params)} {sent.body}"
        assert "2026-11-20" in text or "20.11.2026" in text or "1795132800" in text, text
