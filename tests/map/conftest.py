"""A small workspace to draw."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from syncwell.workspace import Workspace, parse_workspace

TEXT = textwrap.dedent(
    """
    name: demo
    core: app
    systems:
      app: {kind: postgres, dsn: "postgresql://u@h/db"}
      crm: {kind: sqlite, path: crm.db}
      sheet: {kind: sqlite, path: sheet.db}
    flows:
      contacts: {source: crm, destination: app, stream: contacts, key: id, cursor: u,
                 interval: 30s, slo: {freshness: 5m, success_rate: 0.99}}
      deals: {source: app, destination: sheet, stream: deals, key: id, cursor: u,
              mode: realtime, slo: {success_rate: 0.995}}
      invoices: {source: sheet, destination: app, stream: inv, key: id, mode: manual}
      leads: {source: crm, destination: app, stream: leads, key: id, cursor: u, mode: batch,
              interval: 1h30m}
    workflows:
      lead_to_core: [contacts, deals]
      billing: {description: Month end, flows: [deals, invoices]}
    """
)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return parse_workspace(TEXT, "syncwell.yaml", tmp_path, env={})
