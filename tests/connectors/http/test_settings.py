"""An http system in syncwell.yaml: the documented examples load, mistakes say where."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from syncwell.connectors.http.settings import OAuth2ClientCredentials, Settings
from syncwell.connectors.http.templates import Item, fill_path, render
from syncwell.workspace import WorkspaceProblems, parse_workspace

DOCS = Path(__file__).parents[3] / "docs" / "connectors" / "http.md"
ENV = {"CRM_TOKEN": "t", "TASKS_PASSWORD": "p", "LISTS_KEY": "k", "LIST_ID": "42", "SECRET": "s"}


def doc_systems() -> list[str]:
    """Each YAML block of the docs that declares a whole workspace (`systems:` at the top)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    return [block for block in blocks if block.startswith("systems:")]


@pytest.mark.parametrize("index", range(len(doc_systems())))
def test_documented_examples_load(index: int, tmp_path: Path) -> None:
    """Every complete example in docs/connectors/http.md is a valid workspace."""
    workspace = parse_workspace(doc_systems()[index], "syncwell.yaml", tmp_path, env=ENV)
    assert any(isinstance(s.settings, Settings) for s in workspace.systems.values())


def test_docs_have_examples() -> None:
    """The docs hold the three worked examples (and more), so the test above cannot be empty."""
    assert len(doc_systems()) >= 3


def problems(text: str, tmp_path: Path) -> list[str]:
    with pytest.raises(WorkspaceProblems) as caught:
        parse_workspace(textwrap.dedent(text), "syncwell.yaml", tmp_path, env=ENV)
    return [f"{p.key}: {p.message}" for p in caught.value.problems]


def test_mistakes_are_reported_at_their_key(tmp_path: Path) -> None:
    """A wrong style, an api_key in two places and a bad rule each name the field and fix."""
    found = problems(
        """
        systems:
          crm:
            kind: http
            base_url: https://api.example.com
            auth: {type: api_key, key: x, header: X-Key, query_param: key}
            errors:
              - {status: 99x, class: transient}
              - {status: 409, body_path: ok, class: ignore}
            streams:
              contacts:
                read: {path: /c, pagination: {style: cursorr}}
        """,
        tmp_path,
    )
    text = "\n".join(found)
    assert "exactly one of `header:` or `query_param:`" in text
    assert "status must be a code like 409" in text
    assert "`body_path:` and `equals:` go together" in text
    assert "systems.crm.streams.contacts.read.pagination" in text


def test_secrets_stay_secret() -> None:
    """Client secrets are SecretStr: they never show in a repr or a log line."""
    auth = OAuth2ClientCredentials(
        type="oauth2_client_credentials", token_url="/t", client_id="c", client_secret="hush"
    )
    assert "hush" not in repr(auth)


def test_templates_render_placeholders_and_fill_paths() -> None:
    """Placeholders keep their JSON type; other strings stay; path fields are URL-escaped."""
    one = Item({"id": "a b", "n": {"x": 1}}, "a b", "a b", 7)
    two = Item({"id": "c", "n": None}, "c", "c", 8)
    body = {
        "inputs": "{{records}}",
        "keys": "{{keys}}",
        "literal": "{{ nope }}",
        "n": 3,
    }
    item = {"k": "{{key}}", "v": "{{version}}", "x": "{{record.n.x}}", "all": "{{record}}"}
    assert render(body, [one, two], item) == {
        "inputs": [
            {"k": "a b", "v": 7, "x": 1, "all": one.record},
            {"k": "c", "v": 8, "x": None, "all": two.record},
        ],
        "keys": ["a b", "c"],
        "literal": "{{ nope }}",
        "n": 3,
    }
    assert fill_path("/x/{id}/{key}", one) == "/x/a%20b/a%20b"
    assert fill_path("/x/{missing}", one) is None


def models_under(model: type[BaseModel]) -> set[type[BaseModel]]:
    """`model` and every model its fields hold, however deep."""
    found = {model}
    for info in model.model_fields.values():
        for inner in _types_in(info.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel) and inner not in found:
                found |= models_under(inner)
    return found


def _types_in(annotation: object) -> list[object]:
    args = get_args(annotation)
    return [annotation, *(t for arg in args for t in _types_in(arg))]


def test_every_field_is_described() -> None:
    """Each setting of the http kind has a description (the reference is generated from them)."""
    models = models_under(Settings)
    assert len(models) >= 15
    bare = [
        f"{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if not info.description
    ]
    assert bare == []
