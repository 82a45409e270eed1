"""Results of the phases, judged against the targets, as a table for people or JSON for scripts."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from _processes import Finished

__all__ = ["PEAK_TARGET_MB", "RATIO_TARGET", "Phase", "render_table"]

RATIO_TARGET = 0.5
"""A full sync must move rows at least half as fast as psql's text COPY pipe."""

PEAK_TARGET_MB = 300.0
"""The syncwell process must stay under this resident set, whatever the table's size."""


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase: the same rows moved by the reference pipe and by syncwell, maybe repeatedly.

    Times are the median of the repeats; peak memory is the highest of them.
    """

    name: str
    rows: int
    reference: tuple[Finished, ...]
    syncwell: tuple[Finished, ...]
    syncwell_read: int
    verified: bool
    ratio_target: float | None

    @property
    def reference_s(self) -> float:
        return median(run.seconds for run in self.reference)

    @property
    def syncwell_s(self) -> float:
        return median(run.seconds for run in self.syncwell)

    @property
    def syncwell_peak_mb(self) -> float:
        return max(run.peak_rss_mb for run in self.syncwell)

    @property
    def reference_rate(self) -> float:
        return self.rows / self.reference_s

    @property
    def syncwell_rate(self) -> float:
        return self.rows / self.syncwell_s

    @property
    def ratio(self) -> float:
        """syncwell's rows/s over the reference's."""
        return self.syncwell_rate / self.reference_rate

    @property
    def target(self) -> str:
        peak = f"peak < {PEAK_TARGET_MB:.0f} MB"
        return peak if self.ratio_target is None else f"ratio >= {self.ratio_target}, {peak}"

    @property
    def passed(self) -> bool:
        fast = self.ratio_target is None or self.ratio >= self.ratio_target
        return self.verified and fast and self.syncwell_peak_mb < PEAK_TARGET_MB

    def as_dict(self) -> dict[str, object]:
        return {
            "phase": self.name,
            "rows": self.rows,
            "reference_s": round(self.reference_s, 3),
            "reference_rows_per_s": round(self.reference_rate),
            "reference_runs": [_run(run) for run in self.reference],
            "syncwell_s": round(self.syncwell_s, 3),
            "syncwell_rows_per_s": round(self.syncwell_rate),
            "syncwell_runs": [_run(run) for run in self.syncwell],
            "syncwell_rows_read": self.syncwell_read,
            "ratio": round(self.ratio, 3),
            "syncwell_peak_rss_mb": round(self.syncwell_peak_mb, 1),
            "verified": self.verified,
            "target": self.target,
            "result": "PASS" if self.passed else "FAIL",
        }


def _run(run: Finished) -> dict[str, float]:
    # cpu_s is the client's (psql's or syncwell's); postgres_cpu_s the server's meanwhile.
    return {
        "seconds": round(run.seconds, 3),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "cpu_s": round(run.cpu_s, 2),
        "postgres_cpu_s": round(run.server_cpu_s, 2),
    }


_HEADERS = (
    "phase",
    "rows",
    "reference rows/s",
    "syncwell rows/s",
    "ratio",
    "peak RSS MB",
    "equal",
    "target",
    "result",
)


def render_table(phases: list[Phase]) -> str:
    """A plain-text table, one line per phase (the same in a terminal, a log or a doc)."""
    lines = [
        (
            p.name,
            f"{p.rows:,}",
            f"{p.reference_rate:,.0f}",
            f"{p.syncwell_rate:,.0f}",
            f"{p.ratio:.2f}",
            f"{p.syncwell_peak_mb:.0f}",
            "yes" if p.verified else "NO",
            p.target,
            "PASS" if p.passed else "FAIL",
        )
        for p in phases
    ]
    widths = [max(len(row[i]) for row in (_HEADERS, *lines)) for i in range(len(_HEADERS))]
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in (_HEADERS, tuple("-" * w for w in widths), *lines)
    ]
    return "\n".join(line.rstrip() for line in rendered)
