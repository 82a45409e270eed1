"""Results of the webhook benchmark: each server's runs, the ratio of the rates, the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from _report import RATIO_TARGET
from _webhooks_pace import Paced
from _webhooks_servers import Cpu
from _webhooks_wrk import Flood

__all__ = ["Durability", "Run", "Verdict", "render_table"]


@dataclass(frozen=True, slots=True)
class Durability:
    """Event ids the state store gained during the flood, against what wrk saw.

    Every answered request must be there. A few more may be: requests wrk had sent, and
    syncwell committed, when wrk's clock stopped (at most one per connection).
    """

    committed: int
    answered: int
    sent: int
    delivered: int
    """Changes delivered to core.db by the stop, over the whole run (paced requests too)."""

    @property
    def verified(self) -> bool:
        return self.answered <= self.committed <= self.sent

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "committed": self.committed,
            "answered": self.answered,
            "sent": self.sent,
            "delivered_in_all": self.delivered,
            "verified": self.verified,
        }


@dataclass(frozen=True, slots=True)
class Run:
    """One server, one turn: its flood, its paced latency, its CPU during the flood."""

    server: str
    turn: int
    flood: Flood
    paced: Paced
    cpu: Cpu
    durability: Durability | None

    @property
    def valid(self) -> bool:
        """Every request of the flood answered 2xx, none repeated, and (syncwell) all durable."""
        clean = (
            self.flood.non_2xx == 0
            and self.flood.repeated == 0
            and self.flood.socket_errors == 0
            and self.flood.timeouts == 0
            and self.paced.refused == 0
            and self.paced.failed == 0
        )
        return clean and (self.durability is None or self.durability.verified)

    def as_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "turn": self.turn,
            "flood": self.flood.as_dict(),
            "paced": self.paced.as_dict(),
            "server_cpu_during_flood": {
                "event_loop_s": round(self.cpu.loop_s, 2),
                "other_threads_s": round(self.cpu.other_s, 2),
            },
            "durability": None if self.durability is None else self.durability.as_dict(),
            "valid": self.valid,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The medians of the runs and the ratio syncwell/bare, judged against the target."""

    bare: tuple[Run, ...]
    syncwell: tuple[Run, ...]

    @property
    def bare_rate(self) -> float:
        return median(run.flood.rate for run in self.bare)

    @property
    def syncwell_rate(self) -> float:
        return median(run.flood.rate for run in self.syncwell)

    @property
    def ratio(self) -> float:
        return self.syncwell_rate / self.bare_rate

    @property
    def valid(self) -> bool:
        return all(run.valid for run in (*self.bare, *self.syncwell))

    @property
    def passed(self) -> bool:
        return self.valid and self.ratio >= RATIO_TARGET

    def as_dict(self) -> dict[str, object]:
        return {
            "bare_per_s": round(self.bare_rate, 1),
            "syncwell_per_s": round(self.syncwell_rate, 1),
            "ratio": round(self.ratio, 3),
            "syncwell_paced_p50_ms": round(median(r.paced.p50_ms for r in self.syncwell), 2),
            "syncwell_paced_p99_ms": round(median(r.paced.p99_ms for r in self.syncwell), 2),
            "bare_paced_p50_ms": round(median(r.paced.p50_ms for r in self.bare), 2),
            "bare_paced_p99_ms": round(median(r.paced.p99_ms for r in self.bare), 2),
            "valid": self.valid,
            "target": f"ratio >= {RATIO_TARGET}",
            "result": "PASS" if self.passed else "FAIL",
        }


_HEADERS = (
    "server",
    "run",
    "accepted/s",
    "flood p50 ms",
    "flood p99 ms",
    "paced p50 ms",
    "paced p99 ms",
    "paced max ms",
    "non-2xx",
    "committed",
    "CPU loop+other s",
    "wrk CPU s",
)


def _durable(durable: Durability) -> str:
    # Answered, plus those committed while wrk stopped before reading their answers.
    extra = durable.committed - durable.answered
    return f"{durable.answered:,}{extra:+d}" + ("" if durable.verified else " NO")


def _line(run: Run) -> tuple[str, ...]:
    flood, paced, durable = run.flood, run.paced, run.durability
    return (
        run.server,
        str(run.turn),
        f"{flood.rate:,.0f}",
        f"{flood.p50_ms:.1f}",
        f"{flood.p99_ms:.1f}",
        f"{paced.p50_ms:.1f}",
        f"{paced.p99_ms:.1f}",
        f"{paced.max_ms:.1f}",
        str(flood.non_2xx + paced.refused),
        "-" if durable is None else _durable(durable),
        f"{run.cpu.loop_s:.1f}+{run.cpu.other_s:.1f}",
        f"{flood.wrk_cpu_s:.1f}",
    )


def render_table(verdict: Verdict) -> str:
    """One line per run, then the medians, the ratio and the verdict."""
    runs = sorted((*verdict.bare, *verdict.syncwell), key=lambda run: (run.turn, run.server))
    lines = [_line(run) for run in runs]
    widths = [max(len(row[i]) for row in (_HEADERS, *lines)) for i in range(len(_HEADERS))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in (_HEADERS, tuple("-" * w for w in widths), *lines)
    ]
    summary = verdict.as_dict()
    rendered.append("")
    rendered.append(
        f"median accepted/s: bare {verdict.bare_rate:,.0f}, syncwell {verdict.syncwell_rate:,.0f}"
        f"; ratio {verdict.ratio:.2f} (target >= {RATIO_TARGET}): {summary['result']}"
        + ("" if verdict.valid else " (a run was not clean: see non-2xx, durable, JSON)")
    )
    rendered.append(
        f"median paced latency at {runs[0].paced.rate:g}/s: syncwell p50 "
        f"{summary['syncwell_paced_p50_ms']} ms, p99 {summary['syncwell_paced_p99_ms']} ms; "
        f"bare p50 {summary['bare_paced_p50_ms']} ms, p99 {summary['bare_paced_p99_ms']} ms"
    )
    return "\n".join(rendered)
