"""Evidence and advice for `missed_webhooks`: a realtime flow whose source's webhooks did not
bring changes that its reconciliation found later, too late for the freshness SLO."""

from __future__ import annotations

from syncwell.analyze.facts import FlowFacts
from syncwell.analyze.verdict import FlowVerdict
from syncwell.analyze.words import duration, percent, setting, yaml_duration

__all__ = ["missed_advice", "missed_evidence"]


def missed_evidence(verdict: FlowVerdict, facts: FlowFacts) -> str:
    """How many changes the webhooks missed, and what waiting for the reconciliation cost."""
    every = duration(facts.interval_s or 0)
    return (
        f"{facts.missed_by_webhooks:,} of {facts.changes_in:,} {facts.name} changes were "
        f"found by its reconciliation (every {every}), not brought by {facts.source}'s "
        f"webhooks, and waited for it: {percent(verdict.late_share)} arrived later than its "
        f"SLO of {duration(facts.freshness_slo_s)} (the worst after "
        f"{duration(facts.lag_max_s)})"
    )


def missed_advice(facts: FlowFacts) -> tuple[str, ...]:
    """Bring the webhooks back; meanwhile reconcile often enough for the SLO."""
    source, name = facts.source, facts.name
    often = setting(f"flows.{name}.interval", yaml_duration(facts.freshness_slo_s / 2))
    return (
        f"{source}'s webhooks stopped bringing the changes of {name}: check its webhook "
        f"subscription (that it is active and points at syncwell's /hooks/{source}), the "
        f"deliveries it logs as failed, and that it signs with the secret in "
        f"{setting(f'systems.{source}.webhooks')}",
        f"until they are back, reconcile within the SLO: {often} (a read of {source} each "
        f"time, on its rate-limit budget)",
    )
