"""The what-if compares polling with CDC for a flow (`--what-if orders.mode=cdc`): its lag
under the other mode, estimated, and whether the constraint moves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from syncwell.analyze import (
    Reason,
    WhatIfError,
    analysis_text,
    apply_what_if,
    judge,
    parse_what_if,
    what_if_estimates,
)
from syncwell.analyze.lagmodel import STREAM_S
from syncwell.workspace import Workspace, parse_workspace
from tests.analyze.kit import facts_of, measured
from tests.analyze.test_advice import _problems


def workspace_text(orders: str, items: str = "mode: cdc, slo: {freshness: 1m}") -> str:
    """A PostgreSQL core read by `orders` and `items` into a reporting database, and a
    SQLite tool read by `notes`."""
    return f"""core: core
systems:
  core: {{kind: postgres, dsn: "postgresql://127.0.0.1/shop"}}
  reporting: {{kind: postgres, dsn: "postgresql://127.0.0.1/reporting"}}
  notes: {{kind: sqlite, path: notes.db}}
flows:
  orders: {{source: core, destination: reporting, stream: orders, key: id, {orders}}}
  items: {{source: core, destination: reporting, stream: items, key: id, {items}}}
  notes: {{source: notes, destination: core, stream: notes, key: id, cursor: at}}
"""


def shop(orders: str, items: str = "mode: cdc, slo: {freshness: 1m}") -> Workspace:
    """`workspace_text`, loaded."""
    text = workspace_text(orders, items)
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


def test_a_postgresql_source_polled_too_slowly_is_told_cdc() -> None:
    """The poll-interval advice for a flow out of PostgreSQL names `flows.orders.mode: cdc`
    and the what-if that estimates it (it named webhooks, which a database does not send)."""
    workspace = shop(POLLED)
    facts = facts_of(workspace, {"orders": measured(late=300)})
    constraint = judge(facts).constraint
    assert constraint is not None
    (cdc,) = [text for text in constraint.advice if "flows.orders.mode" in text]
    assert "`flows.orders.mode: cdc`" in cdc
    assert "`syncwell constraint --what-if orders.mode=cdc`" in cdc
    document = yaml.safe_load(workspace_text(POLLED))
    assert not list(_problems(cdc, document, {"orders", "core"})), cdc


def test_the_poll_or_cdc_example_in_the_docs_is_what_the_analysis_says() -> None:
    """docs/constraint.md's example (orders polled every 5m, items by CDC): each command's
    lines there are lines the analysis renders from these numbers, in their order."""
    workspace = shop(POLLED)
    facts = facts_of(
        workspace,
        {
            "orders": measured(write_ms=200, lag_sum_s=60 * 150.0, late=300),
            "items": measured(write_ms=100, lag_sum_s=60 * 0.3),
        },
    )
    changed, volumes = apply_what_if(
        facts, parse_what_if(["orders.mode=cdc"], list(workspace.flows))
    )
    what_if = replace(
        judge(changed, volumes, ("orders.mode=cdc",)),
        estimates=what_if_estimates(facts, changed),
    )
    rendered = {
        "$ syncwell constraint --window 1h": analysis_text(judge(facts)),
        "$ syncwell constraint --window 1h --what-if orders.mode=cdc": analysis_text(what_if),
    }
    doc = (Path(__file__).parents[2] / "docs" / "constraint.md").read_text(encoding="utf-8")
    block = doc.split("$ syncwell constraint --window 1h\n", 1)[1].split("```", 1)[0]
    shown: dict[str, list[str]] = {}
    command = "$ syncwell constraint --window 1h"
    for line in block.splitlines():
        if line.startswith("$ "):
            command = line
        else:
            shown.setdefault(command, []).append(line)
    assert set(shown) == set(rendered)
    for command, lines in shown.items():
        said = iter(rendered[command])
        assert all(line in said for line in lines), (command, lines, rendered[command])
