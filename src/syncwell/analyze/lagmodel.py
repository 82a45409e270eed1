"""A flow's freshness lag under another mode, for a what-if that switches it between polling
and change data capture (`--what-if orders.mode=cdc`, docs/constraint.md).

A change's lag is the wait before syncwell has it, then the write:

* **poll** (or batch): a change waits for the next read, half an interval on average (a whole
  one at worst), then the read and the write;
* **cdc**: a change reaches the journal as its transaction commits and the stream carries it,
  then the write. That stream time is taken from the workspace's CDC flows as measured (their
  lag, commit to write, less their write time) when there are some, else modelled as
  `STREAM_S`.

The write time is the flow's own, as measured: the destination does not change with the mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.steps import mean_write_s
from syncwell.analyze.words import duration

__all__ = ["STREAM_S", "LagEstimate", "estimate_lag", "measured_stream"]

STREAM_S = 0.5
"""A change's time from its commit to the journal, when no CDC flow has been measured: a read
of the stream hands over what it has after at most half a second without a message (the
capture's idle wait; docs/cdc.md), and a busy stream hands it over sooner."""
_POLLED = ("poll", "batch")


@dataclass(frozen=True, slots=True)
class LagEstimate:
    """A flow's mean lag under a mode: the wait before syncwell has a change, and the write."""

    wait_s: float
    write_s: float
    how: str
    """Where the wait comes from, in words: "half the 5m interval", "as measured on orders"."""

    @property
    def seconds(self) -> float:
        """The mean lag."""
        return self.wait_s + self.write_s


def measured_stream(flows: Mapping[str, FlowFacts]) -> tuple[float, tuple[str, ...]] | None:
    """The mean time from commit to journal of the CDC flows that wrote in the window (their
    mean lag less their mean write, weighted by batches), and which flows; None without."""
    measured = [f for f in flows.values() if f.mode == "cdc" and f.batches]
    if not measured:
        return None
    batches = sum(f.batches for f in measured)
    stream = sum(f.lag_sum_s - f.latency_sum_ms / 1000 for f in measured) / batches
    return max(stream, 0.0), tuple(f.name for f in measured)


def estimate_lag(
    facts: FlowFacts, mode: str, stream: tuple[float, tuple[str, ...]] | None
) -> LagEstimate | None:
    """`facts`' mean lag were it read by `mode` (with `facts.interval_s` when polled); None
    for a mode this cannot model (realtime: a tool's webhooks; manual)."""
    write_s = mean_write_s(facts) or 0.0
    if mode in _POLLED and facts.interval_s is not None:
        return LagEstimate(
            facts.interval_s / 2, write_s, f"half the {duration(facts.interval_s)} interval"
        )
    if mode == "cdc":
        if stream is None:
            return LagEstimate(STREAM_S, write_s, "modelled: no CDC flow measured yet")
        seconds, names = stream
        return LagEstimate(seconds, write_s, f"as measured on {', '.join(names)}")
    return None


def measured_lag_s(facts: FlowFacts) -> float | None:
    """The flow's mean lag as measured, per batch written; None before any write."""
    return facts.lag_sum_s / facts.batches if facts.batches else None


def comparison(before: FlowFacts, after: FlowFacts, estimate: LagEstimate) -> str:
    """One line: the flow's lag as it runs now, and as estimated under the new mode."""
    now = measured_lag_s(before)
    as_is = f"{duration(now)} on average, as measured" if now is not None else "not measured"
    modelled = estimate_lag(before, before.mode, None)
    if now is None and modelled is not None:
        as_is = f"about {duration(modelled.seconds)} ({modelled.how}, and the write)"
    return (
        f"{after.name} by {after.mode}: lag about {duration(estimate.seconds)} "
        f"({duration(estimate.wait_s)} before syncwell has a change, {estimate.how}; "
        f"{duration(estimate.write_s)} a write), against {as_is} by {before.mode}"
    )
