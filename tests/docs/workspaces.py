"""A YAML snippet of the docs, loaded by syncwell's own loader as a reader would use it.

A snippet is one of three things:
- a workspace, or sections of one (top-level keys such as `systems:` and `flows:`): merged
  over a minimal workspace (its missing systems made up as SQLite ones) and loaded;
- a part of a section (an http system's `auth:`, a stream's `pagination:`, a system's
  `webhooks:` settings …): put where `PLACES` says, inside the minimal workspace, and loaded;
- several alternatives in one block (the same top-level key again, one per line): each is
  loaded on its own.
`${VAR}`s get a value of their shape (a URL, a DSN, a whsec_ secret, …).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from syncwell.workspace import parse_workspace
from tests.docs.blocks import Block

WORKSPACE_KEYS = frozenset(
    {
        "version", "name", "state", "core", "defaults", "systems", "flows", "workflows",
        "alerts", "transport", "tickets",
    }
)  # fmt: skip

_BASE: dict[str, Any] = {
    "core": "core",
    "systems": {
        "core": {"kind": "sqlite", "path": "core.db"},
        "crm": {
            "kind": "http",
            "base_url": "https://crm.example",
            "streams": {
                "contacts": {
                    "read": {"path": "/contacts"},
                    "write": {"upsert": {"path": "/contacts"}},
                }
            },
        },
        "email": {
            "kind": "http",
            "base_url": "https://email.example",
            "streams": {"members": {"write": {"upsert": {"path": "/members"}}}},
        },
    },
    "flows": {
        "contacts": {
            "source": "crm",
            "destination": "core",
            "stream": "contacts",
            "key": "id",
            "cursor": "updated_at",
        },
        "audience": {
            "source": "core",
            "destination": "email",
            "stream": "contacts",
            "target": "members",
            "key": "email",
            "cursor": "updated_at",
        },
    },
}
_HTTP = ("systems", "crm")
_STREAM = (*_HTTP, "streams", "contacts")
_WEBHOOKS_BASE = {"auth": {"kind": "none", "unsigned": True}, "streams": {"*": "contacts"}}

# Where a part of a section goes: (doc, its first key, whether it is a list) -> its parent.
# An indented block goes on from a section shown before it: its key is "  ".
PLACES: dict[tuple[str, str, bool], tuple[str, ...]] = {
    ("docs/connectors/http.md", "auth", False): _HTTP,
    ("docs/connectors/http.md", "errors", True): _HTTP,
    ("docs/connectors/http.md", "streams", False): _HTTP,
    ("docs/connectors/http.md", "pagination", False): (*_STREAM, "read"),
    ("docs/connectors/http.md", "incremental", False): (*_STREAM, "read"),
    ("docs/connectors/http.md", "write", False): _STREAM,
    ("docs/connectors/http.md", "errors", False): (*_STREAM, "write"),
    ("docs/connectors/http.md", "body", False): (*_STREAM, "write", "upsert"),
    ("docs/connectors/http.md", "item", False): (*_STREAM, "write", "upsert"),
    ("docs/two-way.md", "  ", False): ("flows",),
    **{
        ("docs/webhooks.md", key, False): (*_HTTP, "webhooks")
        for key in ("auth", "record", "records", "ids", "route_by", "handshake")
    },
}

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOP_KEY = re.compile(r"^[A-Za-z_][\w.-]*:")


def env_for(text: str) -> dict[str, str]:
    """A value for each `${VAR}` of `text`, of the shape its name says."""
    return {name: _value_for(name) for name in _VAR.findall(text)}


def _value_for(name: str) -> str:
    if name.endswith("DSN"):
        return "postgresql://ann@127.0.0.1:5432/test"
    if name.endswith("URL"):
        return "https://tool.example"
    if name in {"PGUSER", "USER"}:
        return "ann"
    if "WEBHOOK_SECRET" in name or name.startswith(("PARTNER", "ALERTS")):
        return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    return "s3cr3t-value-0123456789abcdefghij"  # a token, a key, a password, a path secret


class _NoDuplicates(yaml.SafeLoader):
    """A loader that refuses a key twice in one mapping (PyYAML keeps the last, silently)."""


def _mapping(loader: _NoDuplicates, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(k) for k, _ in node.value]
    twice = {k for k in keys if keys.count(k) > 1}
    if twice:
        raise yaml.constructor.ConstructorError(
            None, None, f"the key {sorted(map(str, twice))} is given twice", node.start_mark
        )
    return loader.construct_mapping(node)


_NoDuplicates.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def alternatives(text: str) -> list[str]:
    """The block as one document, or, when a top-level key comes again (a list of choices,
    one per line), one document per top-level entry."""
    chunks: list[list[str]] = []
    for line in text.splitlines():
        if _TOP_KEY.match(line) or not chunks:
            chunks.append([])
        chunks[-1].append(line)
    keys = [chunk[0].split(":", 1)[0] for chunk in chunks if _TOP_KEY.match(chunk[0])]
    if len(keys) == len(set(keys)):
        return [text]
    return ["\n".join(chunk) + "\n" for chunk in chunks]


def documents_of(block: Block) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each document of the block (its text and its mapping), as loaded without duplicates."""
    for text in alternatives(block.text):
        data = yaml.load(text, Loader=_NoDuplicates)  # a SafeLoader
        if data is None:  # comments only
            continue
        assert isinstance(data, dict), f"{block.where}: not a mapping but {type(data).__name__}"
        yield text, data


def is_whole(block: Block, data: Mapping[str, Any]) -> bool:
    """Whether the document is a whole workspace, to load as written: it has systems and flows,
    every system its flows name, and leaves nothing out (`# ...`)."""
    if not {"systems", "flows"} <= set(data) or "# ..." in block.text:
        return False
    systems, flows = data["systems"], data["flows"]
    named = {
        flow.get(end) for flow in flows.values() if isinstance(flow, dict)
        for end in ("source", "destination")
    }  # fmt: skip
    return isinstance(systems, dict) and named <= set(systems)


def workspace_of(block: Block, data: dict[str, Any]) -> dict[str, Any] | None:
    """The whole workspace this document is part of, or None when nothing says where it goes."""
    if set(data) <= WORKSPACE_KEYS:
        return completed(data)
    (first, value), *_ = data.items()
    indented = block.text.startswith(" ")  # goes on from the section the doc showed before
    place = PLACES.get((block.doc, "  " if indented else first, isinstance(value, list)))
    if place is None:
        return None
    whole = copy.deepcopy(_BASE)
    parent = whole
    for step in place:
        parent = parent.setdefault(step, {})
    if place[-1] == "webhooks":
        parent.update(_WEBHOOKS_BASE)
    incremental = data.get("incremental")
    if place[-1] == "read" and isinstance(incremental, dict) and "body" in incremental:
        parent["method"] = "POST"  # a filter in the body goes with a POST read
    if place == ("flows",):
        return completed({"flows": data})
    parent.update(data)
    return whole


def completed(data: Mapping[str, Any]) -> dict[str, Any]:
    """The sections given, over the minimal workspace. Flows given replace its flow; a system
    given with the kind of one there is merged over it (a block may elide with `# ...`); a
    system a flow names that is not there is made up: SQLite for the core, else http with the
    flow's stream."""
    whole = copy.deepcopy(_BASE)
    if "flows" in data:
        whole["flows"] = {}
    if "systems" in data and "core" not in data:
        whole["core"] = next(iter(data["systems"]))
    for key, value in data.items():
        if key == "systems" and isinstance(value, dict):
            for name, system in value.items():
                there = whole["systems"].get(name)
                same = isinstance(there, dict) and isinstance(system, dict)
                if same and there.get("kind") == system.get("kind"):
                    there.update(system)
                else:
                    whole["systems"][name] = system
        elif isinstance(value, dict) and isinstance(whole.get(key), dict):
            whole[key].update(value)
        else:
            whole[key] = value
    for flow in (whole.get("flows") or {}).values():
        if isinstance(flow, dict):
            _make_up_systems(whole, flow)
    if whole["core"] not in whole["systems"]:
        whole["systems"][whole["core"]] = {"kind": "sqlite", "path": "core.db"}
    return whole


def _make_up_systems(whole: dict[str, Any], flow: dict[str, Any]) -> None:
    stream = flow.get("stream", "records")
    for end, name in (("source", stream), ("destination", flow.get("target", stream))):
        system = flow.get(end)
        if not isinstance(system, str) or system in whole["systems"]:
            continue
        if system == whole["core"]:
            whole["systems"][system] = {"kind": "sqlite", "path": f"{system}.db"}
        else:
            path = f"/{name}"
            whole["systems"][system] = {
                "kind": "http",
                "base_url": f"https://{system}.example",
                "streams": {name: {"read": {"path": path}, "write": {"upsert": {"path": path}}}},
            }


def load_block_workspace(block: Block, whole: dict[str, Any], text: str, root: Path) -> None:
    """Load `whole` with syncwell's loader (WorkspaceProblems on a mistake)."""
    parse_workspace(
        yaml.safe_dump(whole, sort_keys=False), f"{block.where}", root, env=env_for(text)
    )
