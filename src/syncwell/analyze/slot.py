"""A `mode: cdc` flow's replication slot as evidence: how far it fell behind, what that costs,
and what to change (`slot_behind`, docs/constraint.md).

The slot keeps every WAL segment from its restart point on. The engine measures, per minute,
how much WAL that is and how far behind in time the slot's confirmed position is
(measure/slots.py). A slot further behind than the flow's freshness SLO holds changes
syncwell has not journaled: they are already late before any write measures them, and the
database's disk holds them meanwhile. A healthy slot reads a few seconds behind (it is
confirmed after each journal commit, every 5 s on an idle stream, and the seconds are good to
one 10 s measuring interval), so under `SLOT_FLOOR_S` it is no evidence.
"""

from __future__ import annotations

from pydantic import ByteSize

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict
from syncwell.analyze.words import duration, percent, setting

__all__ = ["SLOT_FLOOR_S", "slot_advice", "slot_behind", "slot_evidence"]

SLOT_FLOOR_S = 30.0
"""A slot less far behind than this is within a healthy slot's trail and the measurement's
grain, whatever the SLO."""
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
    size = ""
    if facts.slot_retained_bytes_max:
        size = f", keeping up to {_size(facts.slot_retained_bytes_max)} of WAL"
        if _over_limit(facts):
            size += f" (past its limit of {_size(facts.slot_max_retained)})"
    late = (
        f"; {percent(verdict.late_share)} of its changes were written later than the SLO"
        if facts.late
        else ""
    )
    return (
        f"{facts.name}'s replication slot on {facts.source} fell {duration(kept_s)} behind"
        f"{size}, against a freshness SLO of {duration(facts.freshness_slo_s)}: its changes "
        f"waited in the slot before syncwell read them{late}"
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
    limit = setting(f"flows.{facts.name}.cdc.max_retained")
    if _over_limit(facts):
        advice.append(
            f"the WAL it kept passed {limit} ({_size(facts.slot_max_retained)}), which opens an "
            f"incident: make sure {facts.source} has that much disk to spare, or more"
        )
    advice.append(
        f"a slot keeps its WAL until it is read, even with syncwell stopped: if {facts.name} "
        f"is stopped for good, `syncwell cdc drop {facts.name}` before the disk of "
        f"{facts.source} fills"
    )
    return tuple(advice)


def _over_limit(facts: FlowFacts) -> bool:
    kept, limit = facts.slot_retained_bytes_max, facts.slot_max_retained
    return kept is not None and limit is not None and kept > limit


def _size(count: int | None) -> str:
    """Bytes as pydantic writes a size (1024s): 3.0GiB, 16.0MiB."""
    return ByteSize(count or 0).human_readable()
