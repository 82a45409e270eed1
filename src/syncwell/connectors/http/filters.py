"""What one read of a stream sends: its path, query and body, the incremental filter filled in.

A full read sends the read endpoint as configured. An incremental read fills the filter's
templates with its lower bound and merges them over it: query parameters by name, the path
replaced, the body deep-merged (objects merge key by key, anything else is replaced).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from pydantic import JsonValue

from syncwell.connectors.http import since
from syncwell.connectors.http.endpoints import ReadEndpoint

__all__ = ["ReadQuery", "merged", "read_query"]

# Query parameters whose values a message never shows: a key put in read.params by hand.
_SECRET_WORDS = ("key", "token", "secret", "password", "signature", "auth", "sig")
_SHOWN = 300


@dataclass(frozen=True, slots=True)
class ReadQuery:
    """The first request of a read: where, with which query, with which JSON body."""

    method: str
    path: str
    params: Mapping[str, str]
    body: JsonValue

    def shown(self) -> str:
        """The request for a message: method, path and query, the body after; secrets hidden."""
        params = {
            name: "***" if any(word in name.lower() for word in _SECRET_WORDS) else value
            for name, value in self.params.items()
        }
        text = f"{self.method} {self.path}"
        if params:
            text += "?" + urlencode(params, safe="()$:,{}\"'[] *")
        if self.body is not None:
            text += " with body " + json.dumps(self.body, separators=(",", ":"))
        return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def read_query(endpoint: ReadEndpoint, start_us: int | None) -> ReadQuery:
    """What a read sends: the endpoint as it is (None), or filtered from `start_us` on."""
    params = {name: since.as_query_value(value) for name, value in endpoint.params.items()}
    filter_ = endpoint.incremental
    if start_us is None or filter_ is None:
        return ReadQuery(endpoint.method, endpoint.path, params, endpoint.body)
    where = since.zone(filter_.timezone)
    for name, template in filter_.templates().items():
        params[name] = since.fill(since.as_query_value(template), start_us, where)
    path = endpoint.path
    if filter_.path is not None:
        path = since.SINCE.sub(
            lambda match: quote(since.written(start_us, match.group(1) or "iso", where), safe=""),
            filter_.path,
        )
    body = endpoint.body
    if filter_.body is not None:
        body = merged(body, since.fill_json(filter_.body, start_us, where))
    return ReadQuery(endpoint.method, path, params, body)


def merged(base: JsonValue, over: JsonValue) -> JsonValue:
    """`over` deep-merged into `base`: objects key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for name, value in over.items():
            out[name] = merged(out.get(name), value)
        return out
    return over
