"""A CDC flow's replication slot falling behind is evidence: the analysis names the flow
`slot_behind` with how far and how much WAL, and advice that names real settings; a healthy
slot's trail, or a slot not measured, is no alarm."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from syncwell.analyze import Analysis, Reason, judge
from syncwell.analyze.slot import SLOT_FLOOR_S
from syncwell.workspace import Workspace, parse_workspace
from tests.analyze.kit import facts_of, measured
from tests.analyze.test_advice import _problems

_WORKSPACE = """\
core: core
systems:
  core: {kind: postgres, dsn: "postgresql://127.0.0.1/shop"}
  reporting: {kind: postgres, dsn: "postgresql://127.0.0.1/reporting"}
  billing: {kind: postgres, dsn: "postgresql://127.0.0.1/billing"}
flows:
  orders: {source: core, destination: reporting, stream: orders, key: id, mode: cdc,
           batch_size: 500, slo: {freshness: 1m}}
  invoices: {source: core, destination: billing, stream: invoices, key: id, mode: cdc,
             slo: {freshness: 10s}}
"""
GB = 1024**3


def _workspace() -> tuple[Workspace, dict[str, object]]:
    document = yaml.safe_load(_WORKSPACE)
    return parse_workspace(_WORKSPACE, "syncwell.yaml", Path("/tmp"), env={}), document


def _analysis(rows: Mapping[str, Mapping[str, object]]) -> Analysis:
    workspace, _ = _workspace()
    return judge(facts_of(workspace, rows))


def test_a_slot_fallen_behind_is_named_with_its_evidence() -> None:
    """The orders slot kept 20 minutes (3 GB) of WAL against a 1-minute SLO while its
    batches were half full: reporting is the constraint, `slot_behind`, with the numbers; the
    advice says to keep the flow read and how to drop a slot for good (commands that exist,
    no key outside backticks). The invoices flow, its slot trailing 30 s (under the minute
    a healthy slot may trail) against a 10 s SLO, is not named."""
    analysis = _analysis(
        {
            "orders": measured(
                batch=250, slot_retained_s_max=1200.0, slot_retained_bytes_max=3 * GB
            ),
            "invoices": measured(slot_retained_s_max=30.0, slot_retained_bytes_max=16 << 20),
        }
    )
    constraint = analysis.constraint
    assert constraint is not None
    assert (constraint.integration, constraint.flow, constraint.reason) == (
        "reporting",
        "orders",
        Reason.SLOT_BEHIND,
    )
    assert constraint.severity == 1200.0 / SLOT_FLOOR_S
    assert constraint.evidence == (
        "orders's replication slot on core fell behind: the WAL it kept reached back 20m "
        "(3.0 GB), against a freshness SLO of 1m, so its changes waited in the slot before "
        "syncwell read them"
    )
    assert "`syncwell cdc drop orders`" in constraint.advice[-1]
    breaking = [v.integration for v in analysis.ranking if v.breaching]
    assert breaking == ["reporting"], breaking


def test_full_batches_are_told_the_batch_size_that_reads_faster() -> None:
    """Its batches full (500 of 500) while the slot fell behind: read in batches of 1,000,
    `flows.orders.batch_size: 1000`, a setting `syncwell check` accepts."""
    _, document = _workspace()
    analysis = _analysis(
        {"orders": measured(batch=500, per_minute=1000, slot_retained_s_max=600.0)}
    )
    constraint = analysis.constraint
    assert constraint is not None and constraint.reason is Reason.SLOT_BEHIND
    assert "`flows.orders.batch_size: 1000`" in constraint.advice[0], constraint.advice
    names = {"orders", "invoices", "core", "reporting", "billing"}
    for text in (constraint.evidence, *constraint.advice):
        assert not list(_problems(text, document, names)), text


def test_healthy_or_unmeasured_slots_are_no_alarm() -> None:
    """Slots trailing under a minute, or not measured at all (no slot measurements yet), with
    every change in time: no constraint, and no flow named `slot_behind`."""
    for slot in ({"slot_retained_s_max": 45.0, "slot_retained_bytes_max": 1 << 20}, {}):
        analysis = _analysis({"orders": measured(**slot), "invoices": measured(**slot)})
        assert analysis.constraint is None, analysis.summary
        assert all(v.reason is None for v in analysis.flows)


def test_a_late_cdc_flow_with_its_slot_behind_is_the_slot_not_freshness() -> None:
    """Changes late and the slot 5 minutes behind against a 1-minute SLO: the slot explains
    the lateness. With the slot in time, the same lateness stays `freshness`."""
    late = {"late": 300, "lag_max_s": 320.0}
    behind = _analysis({"orders": measured(**late, slot_retained_s_max=300.0)})
    assert behind.constraint is not None and behind.constraint.reason is Reason.SLOT_BEHIND
    assert "were written later than the SLO" in behind.constraint.evidence
    in_time = _analysis({"orders": measured(**late, slot_retained_s_max=20.0)})
    assert in_time.constraint is not None and in_time.constraint.reason is Reason.FRESHNESS
