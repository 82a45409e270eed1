"""In a one-off run, flows wait for the flows that feed their source, except around a cycle."""

from __future__ import annotations

from syncwell.engine.order import upstream_flows
from syncwell.workspace import parse_workspace

WORKSPACE = """
core: core
systems:
  crm: {kind: sqlite, path: crm.db}
  core: {kind: sqlite, path: core.db}
  email: {kind: sqlite, path: email.db}
flows:
  leads: {source: crm, destination: core, stream: t, key: id, cursor: at}
  back: {source: core, destination: crm, stream: t, key: id, cursor: at}
  audience: {source: core, destination: email, stream: t, key: id, cursor: at}
"""


def test_chains_wait_and_two_way_syncs_do_not() -> None:
    """audience waits for leads and back; leads and back, a two-way pair, wait for no one."""
    flows = list(parse_workspace(WORKSPACE).flows.values())
    assert upstream_flows(flows) == {"leads": set(), "back": set(), "audience": {"leads", "back"}}
