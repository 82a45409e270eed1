"""`tickets:` in syncwell.yaml: a source, fields and attribution rules, with fixes in errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

from syncwell.workspace import parse_workspace
from tests.workspace.conftest import Problems

_BASE = """
systems:
  core: {kind: sqlite, path: app.db}
  crm: {kind: sqlite, path: crm.db}
  email: {kind: sqlite, path: email.db}
flows:
  contacts: {source: crm, destination: core, stream: contacts, key: id, cursor: u}
  news: {source: core, destination: email, stream: people, key: id, cursor: u}
"""


def test_a_csv_with_rules_loads_in_file_order(tmp_path: Path) -> None:
    """A CSV source with tag, text and field rules loads, rules in the file's order."""
    text = _BASE + textwrap.dedent(
        """
        tickets:
          csv: tickets.csv
          fields: {opened: created, closed: resolved, text: [subject, body]}
          integrations:
            email: {match: "newsletter|mailchimp"}
            crm: {tags: [crm, hubspot], fields: {queue: "^sales$"}}
        """
    )
    workspace = parse_workspace(text, root=tmp_path, env={})
    assert workspace.tickets is not None
    assert list(workspace.tickets.integrations) == ["email", "crm"]
    assert workspace.tickets.fields.text == ("subject", "body")
    assert workspace.tickets.every.total_seconds() == 900


def test_mistakes_are_named_with_their_fix(problems: Problems) -> None:
    """An unknown integration, a bad regex, an empty rule and a missing source each say why."""
    found = problems(
        _BASE
        + """
tickets:
  integrations:
    projects: {tags: [x]}
"""
    )
    assert any("csv: tickets.csv" in str(p) for p in found)
    found = problems(
        _BASE
        + """
tickets:
  csv: t.csv
  integrations:
    crm: {match: "(unclosed"}
    email: {}
"""
    )
    text = "\n".join(str(p) for p in found)
    assert "not a regular expression" in text
    assert "a rule needs" in text
    found = problems(_BASE + "\ntickets:\n  csv: t.csv\n  integrations: {projects: {tags: [x]}}\n")
    assert "`projects` is not an integration; name one of: crm, email" in str(found[0])


def test_the_system_must_be_an_http_one(problems: Problems) -> None:
    """Tickets read from a system need an http system, and a stream."""
    found = problems(
        _BASE
        + """
tickets:
  system: crm
  stream: tickets
  integrations: {crm: {tags: [crm]}}
"""
    )
    assert "tickets are read from an http one" in "\n".join(map(str, found))
    found = problems(_BASE + "\ntickets:\n  system: crm\n  integrations: {crm: {tags: [a]}}\n")
    assert "needs `stream:`" in "\n".join(map(str, found))
