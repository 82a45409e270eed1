"""The what-if compares polling with CDC for a flow (`--what-if orders.mode=cdc`): its lag
under the other mode, estimated, and whether the constraint moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwell.analyze import (
    Reason,
    WhatIfError,
    apply_what_if,
    judge,
    parse_what_if,
    what_if_estimates,
)
from syncwell.analyze.lagmodel import STREAM_S
from syncwell.workspace import Workspace, parse_workspace
from tests.analyze.kit import facts_of, measured


def shop(orders: str, items: str = "mode: cdc, slo: {freshness: 1m}") -> Workspace:
    """A PostgreSQL core read by `orders` and `items` into a reporting database, and a
    SQLite tool read by `notes`."""
    text = f"""core: core
systems:
  core: {{kind: postgres, dsn: "postgresql://127.0.0.1/shop"}}
  reporting: {{kind: postgres, dsn: "postgresql://127.0.0.1/reporting"}}
  notes: {{kind: sqlite, path: notes.db}}
flows:
  orders: {{source: core, destination: reporting, stream: orders, key: id, {orders}}}
  items: {{source: core, destination: reporting, stream: items, key: id, {items}}}
  notes: {{source: notes, destination: core, stream: notes, key: id, cursor: at}}
"""
    return parse_workspace(text, "syncwell.yaml", Path("/tmp"), env={})


POLLED = "cursor: updated_at, interval: 5m, slo: {freshness: 1m}"


def test_a_poll_floor_clears_under_cdc_with_the_lag_estimated() -> None:
    """Polled every 5 minutes against a 1-minute SLO, orders is the constraint; as CDC it is
    not, and the estimate says its lag would be the stream (as measured on items: 0.3 s a
    batch less its 0.1 s write) and its own 0.2 s write, against the 2.5 minutes measured."""
    workspace = shop(POLLED)
    facts = facts_of(
        workspace,
        {
            "orders": measured(write_ms=200, lag_sum_s=60 * 150.0, late=300),
            "items": measured(write_ms=100, lag_sum_s=60 * 0.3),
        },
    )
    now = judge(facts)
    assert now.constraint is not None
    assert (now.constraint.flow, now.constraint.reason) == ("orders", Reason.POLL_INTERVAL)
    changes = parse_what_if(["orders.mode=cdc"], list(workspace.flows))
    changed, volumes = apply_what_if(facts, changes)
    assert judge(changed, volumes).constraint is None
    orders = changed.flows["orders"]
    assert (orders.mode, orders.interval_s, orders.late) == ("cdc", None, 0)
    assert orders.lag_sum_s / orders.batches == pytest.approx(0.4)
    (line,) = what_if_estimates(facts, changed)
    assert line == (
        "orders by cdc: lag about 400ms (200ms before syncwell has a change, as measured on "
        "items; 200ms a write), against 2m 30s on average, as measured by poll"
    )


def test_without_a_measured_cdc_flow_the_stream_is_modelled() -> None:
    """No CDC flow has written yet: the wait is the model's half second, said so."""
    workspace = shop(POLLED)
    facts = facts_of(workspace, {"orders": measured(write_ms=100), "items": {}})
    changed, _ = apply_what_if(facts, parse_what_if(["orders.mode=cdc"], list(workspace.flows)))
    assert changed.flows["orders"].lag_max_s == pytest.approx(STREAM_S + 0.1)
    (line,) = what_if_estimates(facts, changed)
    assert "modelled: no CDC flow measured yet" in line


def test_cdc_back_to_poll_moves_the_constraint_onto_the_flow() -> None:
    """A CDC flow with a 20 s SLO, polled instead at the default minute, would break it: the
    constraint moves to it, for its poll interval, and its changes count late (half a minute
    on average against 20 s)."""
    workspace = shop("mode: cdc, slo: {freshness: 20s}")
    facts = facts_of(workspace, {"orders": measured(lag_sum_s=60 * 0.3)})
    assert judge(facts).constraint is None
    changed, volumes = apply_what_if(
        facts, parse_what_if(["orders.mode=poll"], list(workspace.flows))
    )
    after = judge(changed, volumes)
    assert after.constraint is not None
    assert (after.constraint.flow, after.constraint.reason) == ("orders", Reason.POLL_INTERVAL)
    assert changed.flows["orders"].late == changed.flows["orders"].changes_out
    (line,) = what_if_estimates(facts, changed)
    assert line.startswith("orders by poll: lag about 30s (30s before syncwell has a change, ")
    assert line.endswith("against 300ms on average, as measured by cdc")


def test_cdc_is_refused_for_a_source_that_is_not_postgresql() -> None:
    """CDC reads PostgreSQL: a what-if that switches a SQLite tool's flow to it says why."""
    workspace = shop(POLLED)
    with pytest.raises(WhatIfError, match="notes is a sqlite system"):
        apply_what_if(facts_of(workspace, {}), parse_what_if(["notes.mode=cdc"], ["notes"]))
