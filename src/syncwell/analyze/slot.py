"""A `mode: cdc` flow's replication slot as evidence: how far it fell behind, what that costs,
and what to change (`slot_behind`, docs/constraint.md).

The slot keeps every WAL segment from its restart point on. The engine measures, per minute,
how much WAL that is and how far back in time it reaches (docs/measurements.md). A slot whose
WAL reaches back further than the flow's freshness SLO holds changes syncwell has not read:
they are already late before a write, and the database's disk holds them meanwhile. A healthy
slot's restart point trails the stream too, up to the next record of running transactions
(15 s) or the longest transaction open, so under `SLOT_FLOOR_S` it is no evidence.
"""

from __future__ import annotations

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict
from syncwell.analyze.words import duration, percent, setting

__all__ = ["SLOT_FLOOR_S", "slot_advice", "slot_behind", "slot_evidence"]

SLOT_FLOOR_S = 60.0
"""WAL kept for less time than this is a healthy slot's trail, whatever the SLO."""
_FULL = 0.9
_MAX_BATCH_SIZE = 100_000


def slot_behind(facts: FlowFacts) -> float:
    """How many times over its freshness SLO (and `SLOT_FLOOR_S`) the flow's slot fell
    behind at its worst in the window; 0 for a flow without a measured slot."""
    kept_s = facts.slot_retained_s_max
    if facts.mode != "cdc" or kept_s is None:
        return 0.0
    return kept_s / max(facts.freshness_slo_s, SLOT_FLOOR_S)


def slot_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """How far the slot fell behind, how much WAL it kept, and what that did to freshness."""
    kept_s = facts.slot_retained_s_max or 0.0
    size = f" ({_size(facts.slot_retained_bytes_max)})" if facts.slot_retained_bytes_max else ""
    late = (
        f"; {percent(verdict.late_share)} of its changes were written later than the SLO"
        if facts.late
        else ""
    )
    return (
        f"{facts.name}'s replication slot on {facts.source} fell behind: the WAL it kept "
        f"reached back {duration(kept_s)}{size}, against a freshness SLO of "
        f"{duration(facts.freshness_slo_s)}, so its changes waited in the slot before syncwell "
        f"read them{late}"
    )


def slot_advice(facts: FlowFacts) -> tuple[str, ...]:
    """Read the stream faster when its batches are full; otherwise keep the flow running, and
    drop the slot of a flow stopped for good before it fills the disk."""
    advice = []
    per_write = facts.changes_out / facts.batches if facts.batches else 0.0
    if per_write >= _FULL * facts.batch_size and facts.batch_size < _MAX_BATCH_SIZE:
        bigger = min(facts.batch_size * 2, _MAX_BATCH_SIZE)
        advice.append(
            f"each batch carried the most the flow takes ({facts.batch_size:,} changes): the "
            f"stream is journaled that many at a time, so read it in larger ones, "
            f"{setting(f'flows.{facts.name}.batch_size', bigger)}"
        )
    else:
        advice.append(
            f"its batches were not full ({per_write:,.0f} changes of {facts.batch_size:,}), so "
            f"syncwell read what reached it: the slot waited while {facts.name} was not being "
            "read (a run stopped, or failing to read its source); keep it running, and see "
            "each slot's WAL with `syncwell cdc status`"
        )
    advice.append(
        f"a slot keeps its WAL until it is read, even with syncwell stopped: if {facts.name} "
        f"is stopped for good, `syncwell cdc drop {facts.name}` before the disk of "
        f"{facts.source} fills"
    )
    return tuple(advice)


def _size(count: int | None) -> str:
    """Bytes in B, kB, MB, GB (as `syncwell cdc status` shows them)."""
    value = float(count or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return ""
