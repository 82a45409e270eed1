"""What the CRM's request log says about one sync, judged against the budget and the target.

Everything is read from the CRM's side (`GET /_sandbox/requests`: each API request's arrival,
status and duration), because the budget is counted there, in the CRM's windows:

- **share of the budget**: upserts answered 2xx in the whole one-second windows of the CRM's
  clock that lie inside the sync (the first and the last window are partly outside it), over
  10 for each such window. The CRM's own unit: 100% means every window's 10 were used, and no
  pattern of sending can score more. The windows are whole seconds of the CRM's monotonic
  clock, the same system clock as ours, so a logged arrival maps to its window exactly; a
  window with more than 10 2xx would prove the mapping wrong, and is refused.
- **req/s, first to last**: (upserts answered 2xx - 1) / (last arrival - first arrival): n
  requests make n - 1 gaps, so a client sending exactly 10 a second, evenly, scores 10.0. A
  client that sends each window's 10 in a burst scores more over a short sync (a fixed window
  allows that), which is why the verdict uses the share above.
- **429s after learning**: 429s that arrived after the first answer reached syncwell. Every CRM
  answer carries ``X-RateLimit-Limit``, and the writes go one at a time, so from the first
  answer on the limiter knows the limit: there is nothing left to learn, and any 429 after it
  is a pacing mistake. (Waiting longer, say 2 s, would excuse mistakes the target forbids.)
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from statistics import median

from _ratelimit_sync import BUDGET_PER_S, UPSERT_PATH, Synced

__all__ = [
    "SHARE_TARGET",
    "Measured",
    "Summary",
    "measure",
    "render_table",
    "summarize",
]

SHARE_TARGET = 0.95
"""The issue's target: at least 95% of the budget, with zero 429s once the limit is learned."""


@dataclass(frozen=True, slots=True)
class Measured:
    """One sync, as the CRM saw it."""

    setup: str
    turn: int
    contacts: int
    upserts_ok: int
    statuses: dict[int, int]
    rate_limited: int
    rate_limited_after_learning: int
    early: int
    span_s: float
    """From the first request's arrival to the last's."""
    per_window: tuple[int, ...]
    sync_s: float
    verified: bool

    @property
    def rate(self) -> float:
        return (self.upserts_ok - 1) / self.span_s if self.span_s > 0 else 0.0

    @property
    def share(self) -> float:
        """2xx answers in the whole windows inside the sync, over the budget of those windows."""
        if not self.per_window:
            return 0.0
        return sum(self.per_window) / (BUDGET_PER_S * len(self.per_window))

    def as_dict(self) -> dict[str, object]:
        return {
            "setup": self.setup,
            "turn": self.turn,
            "contacts": self.contacts,
            "upserts_2xx": self.upserts_ok,
            "requests_by_status": {str(code): n for code, n in sorted(self.statuses.items())},
            "rate_limited_429": self.rate_limited,
            "rate_limited_after_learning": self.rate_limited_after_learning,
            "early_requests": self.early,
            "span_s": round(self.span_s, 3),
            "requests_per_s_first_to_last": round(self.rate, 3),
            "share_of_budget": round(self.share, 4),
            "per_window_2xx": list(self.per_window),
            "sync_s": round(self.sync_s, 2),
            "verified": self.verified,
        }


def measure(synced: Synced) -> Measured:
    """Read one sync's request log."""
    log = [r for r in synced.requests if r["path"] == UPSERT_PATH]
    if not log:
        raise SystemExit(f"{synced.setup.name}: the CRM saw no upserts: {synced.stats}")
    statuses = Counter(int(r["status"]) for r in log)  # type: ignore[call-overload]
    arrivals = [float(r["at"]) for r in log]  # type: ignore[arg-type]
    first_answer = arrivals[0] + float(log[0]["duration_ms"]) / 1000  # type: ignore[arg-type]
    late_429 = sum(
        1 for r, at in zip(log, arrivals, strict=True) if r["status"] == 429 and at > first_answer
    )
    early = synced.stats["early_requests"]
    assert isinstance(early, int)
    return Measured(
        setup=synced.setup.name,
        turn=synced.turn,
        contacts=synced.contacts,
        upserts_ok=sum(n for code, n in statuses.items() if 200 <= code < 300),
        statuses=dict(statuses),
        rate_limited=statuses.get(429, 0),
        rate_limited_after_learning=late_429,
        early=early,
        span_s=arrivals[-1] - arrivals[0],
        per_window=_per_window(log, arrivals, synced.wall_minus_mono),
        sync_s=synced.seconds,
        verified=synced.verified,
    )


def _per_window(
    log: list[dict[str, object]], arrivals: list[float], offset: float
) -> tuple[int, ...]:
    """2xx answers per whole second of the CRM's monotonic clock, inside the sync only."""
    windows = [math.floor(at - offset) for at in arrivals]
    ok = Counter(
        window
        for window, r in zip(windows, log, strict=True)
        if 200 <= int(r["status"]) < 300  # type: ignore[call-overload]
    )
    if max(ok.values(), default=0) > BUDGET_PER_S:
        raise SystemExit(f"a window holds {max(ok.values())} 2xx: the clocks do not line up")
    # The first and the last window are partly outside the sync: left out.
    return tuple(ok.get(window, 0) for window in range(windows[0] + 1, windows[-1]))


@dataclass(frozen=True, slots=True)
class Summary:
    """One setup over its repeats: the median share, every 429 counted."""

    setup: str
    runs: tuple[Measured, ...]

    @property
    def label(self) -> str:
        return self.setup

    @property
    def share(self) -> float:
        return median(run.share for run in self.runs)

    @property
    def rate(self) -> float:
        return median(run.rate for run in self.runs)

    @property
    def passed(self) -> bool:
        clean = all(run.rate_limited_after_learning == 0 and run.verified for run in self.runs)
        return clean and self.share >= SHARE_TARGET

    def as_dict(self) -> dict[str, object]:
        return {
            "setup": self.setup,
            "median_requests_per_s_first_to_last": round(self.rate, 3),
            "median_share_of_budget": round(self.share, 4),
            "shares": [round(run.share, 4) for run in self.runs],
            "rate_limited_429": sum(run.rate_limited for run in self.runs),
            "rate_limited_after_learning": sum(r.rate_limited_after_learning for r in self.runs),
            "early_requests": sum(run.early for run in self.runs),
            "verified": all(run.verified for run in self.runs),
            "target": _TARGET,
            "result": "PASS" if self.passed else "FAIL",
        }


_TARGET = f"share >= {SHARE_TARGET:.0%}, 0 429s after learning"


def summarize(runs: list[Measured]) -> list[Summary]:
    """One summary per setup, in the order the setups first ran."""
    groups: dict[str, list[Measured]] = {}
    for run in runs:
        groups.setdefault(run.setup, []).append(run)
    return [Summary(name, tuple(group)) for name, group in groups.items()]


_HEADERS = (
    "setup",
    "runs",
    "2xx",
    "share of budget (runs)",
    "req/s first-last",
    "429s",
    "429s after learning",
    "early",
    "CRM has all",
    "result",
)


def render_table(summaries: list[Summary]) -> str:
    """A plain-text table, one line per setup (medians over its runs; 429s summed)."""
    lines = [
        (
            s.label,
            str(len(s.runs)),
            f"{median(run.upserts_ok for run in s.runs):.0f}",
            f"{s.share:.1%}  ({', '.join(f'{run.share:.1%}' for run in s.runs)})",
            f"{s.rate:.2f}",
            str(sum(run.rate_limited for run in s.runs)),
            str(sum(run.rate_limited_after_learning for run in s.runs)),
            str(sum(run.early for run in s.runs)),
            "yes" if all(run.verified for run in s.runs) else "NO",
            "PASS" if s.passed else "FAIL",
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in (_HEADERS, *lines)) for i in range(len(_HEADERS))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in (_HEADERS, tuple("-" * w for w in widths), *lines)
    ]
    target = f"target: {_TARGET}; medians over the runs, 429s summed"
    return "\n".join([*(line.rstrip() for line in rendered), target])
