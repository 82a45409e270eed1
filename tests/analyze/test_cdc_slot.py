"""A CDC flow's replication slot falling behind is evidence: the analysis names the flow
`slot_behind` with how far and how much WAL, and advice that names real settings; a healthy
slot's trail, or a slot not measured, is no alarm."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from syncwell.analyze import Analysis, Reason, gather, judge
from syncwell.measure import MinuteRecorder
from syncwell.store import open_store
from syncwell.workspace import Workspace, parse_workspace
from tests.analyze.kit import facts_of, measured
from tests.analyze.test_advice import _problems
from tests.analyze.test_gather import Wall

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
    """The orders slot fell 20 minutes behind, keeping 3 GiB of WAL (past the default
    `cdc.max_retained` of 1 GiB), against a 1-minute SLO, while its batches were half full:
    reporting is the constraint, `slot_behind`, with the numbers; the advice says to keep the
    flow read, names the limit, and how to drop a slot for good (settings and commands that
    exist, no key outside backticks). The invoices flow, its slot 25 s behind (within the
    30 s a healthy slot and the measurement's grain allow) against a 10 s SLO, is not named."""
    _, document = _workspace()
    analysis = _analysis(
        {
            "orders": measured(
                batch=250, slot_retained_s_max=1200.0, slot_retained_bytes_max=3 * GB
            ),
            "invoices": measured(slot_retained_s_max=25.0, slot_retained_bytes_max=16 << 20),
        }
    )
    constraint = analysis.constraint
    assert constraint is not None
    assert (constraint.integration, constraint.flow, constraint.reason) == (
        "reporting",
        "orders",
        Reason.SLOT_BEHIND,
    )
    assert constraint.severity == 20.0  # 20 minutes behind a 1-minute SLO
    assert constraint.evidence == (
        "orders's replication slot on core fell 20m behind, keeping up to 3.0GiB of WAL (past "
        "its limit of 1.0GiB), against a freshness SLO of 1m: its changes waited in the slot "
        "before syncwell read them"
    )
    assert "`syncwell cdc status`" in constraint.advice[0]
    assert "`flows.orders.cdc.max_retained` (1.0GiB)" in constraint.advice[1]
    assert "`syncwell cdc drop orders`" in constraint.advice[2]
    names = {"orders", "invoices", "core", "reporting", "billing"}
    for text in (constraint.evidence, *constraint.advice):
        assert not list(_problems(text, document, names)), text
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
    """Slots trailing under 30 s, or not measured at all (no slot measurements yet), with
    every change in time: no constraint, and no flow named `slot_behind`."""
    for slot in ({"slot_retained_s_max": 28.0, "slot_retained_bytes_max": 1 << 20}, {}):
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


async def test_the_analysis_reads_the_slot_minutes_the_engine_flushes(tmp_path: Path) -> None:
    """Ten minutes of the engine's own minutes in a real store: orders' slot falling 4 s
    further behind each 10 s sample to 3m 56s, invoices' at 2 s: gather reads the worst of
    each (through the minutes and their rollups), and orders is named `slot_behind`."""
    workspace, _ = _workspace()
    state = f"sqlite:///{tmp_path / 'state.db'}"
    store = await open_store(state)
    now = 1_800_000_000.0
    try:
        wall = Wall(now - 600)
        recorder = MinuteRecorder(wall)
        for sample in range(60):
            wall.at = now - 600 + sample * 10 + 9.999
            recorder.slot("orders", 1_000_000 * sample, 4.0 * sample)
            recorder.slot("invoices", 4096, 2.0)
            if sample % 6 == 5:
                await store.measurements.add([m.as_row() for m in recorder.drain()])
        facts = await gather(store, workspace, window_s=3600, at=now)
        analysis = judge(facts)
    finally:
        await store.close()
    assert facts.flows["orders"].slot_retained_s_max == 236.0
    assert facts.flows["orders"].slot_retained_bytes_max == 59_000_000
    assert facts.flows["invoices"].slot_retained_s_max == 2.0
    assert analysis.constraint is not None
    assert (analysis.constraint.flow, analysis.constraint.reason) == ("orders", Reason.SLOT_BEHIND)
    assert [v.flow for v in analysis.flows if v.breaching] == ["orders"]
