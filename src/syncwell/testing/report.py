"""What the conformance kit found: one result per check, and an assert helper for pytest.

A source's report holds `Check`s (`check_source`), a destination's `DestinationCheck`s
(`check_destination`); both read and assert the same way.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeAlias

__all__ = [
    "AnyCheck",
    "Check",
    "CheckResult",
    "ConformanceReport",
    "DestinationCheck",
    "Outcome",
    "assert_conformant",
]

Outcome = Literal["passed", "failed", "skipped"]
"""How a check ended; `skipped` says why it could not run (no webhooks, no cursor, ...)."""


class Check(StrEnum):
    """The checks of `syncwell.testing.check_source`, in the order they run."""

    FULL_READ = "full read"
    """The first read brings every record the system lists, and nothing else."""
    IDLE_POLL = "idle poll"
    """A read with nothing changed journals nothing and writes nothing."""
    EDIT = "edit"
    """An edit made in the system arrives with the next read."""
    INSERT = "insert"
    """A record created in the system arrives with the next read."""
    FILTER = "filter self-check"
    """The incremental filter returns the records known to have changed."""
    DELETE = "delete"
    """A record deleted in the system is deleted in the destination after the next read."""
    WEBHOOKS = "webhooks"
    """Each event the system sends has exactly one effect (an edit, an insert, a delete)."""


class DestinationCheck(StrEnum):
    """The checks of `syncwell.testing.check_destination`, in the order they run."""

    WRITE = "write"
    """New records are taken and read back as sent, each once (with its own id, where the
    tool assigns them)."""
    REWRITE = "same batch twice"
    """Writing the same batch again, over a new connection, changes nothing: no duplicate,
    no new id."""
    STALE = "older version"
    """A change older than the record's version never overwrites it."""
    LOST_ID = "lost id"
    """A create whose id was never stored (a crash) is not made twice by the next write."""
    REFUSED = "refused record"
    """A record the destination refuses raises `RecordRejectedError` that names it (or that
    the engine can find by halving the batch), and the rest of the batch arrives."""
    MISSING = "missing record"
    """A change to a record deleted in the destination raises `RecordMissingError` naming
    it, or recreates the record: never a silent success with nothing there."""
    DELETE = "delete"
    """Deleted records are gone; deleting them again, or a record never written, succeeds."""


AnyCheck: TypeAlias = Check | DestinationCheck
"""A check of either kit."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome.

    Attributes:
        check: which check.
        outcome: passed, failed, or skipped (it could not run here).
        detail: what the check saw, in words: counts, keys, errors.
        seconds: how long the check took, waits included.
    """

    check: AnyCheck
    outcome: Outcome
    detail: str
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """Every check's result for one flow, in the order they ran.

    Attributes:
        flow: the flow checked.
        results: one result per check.
    """

    flow: str
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        """Whether no check failed (skipped checks do not fail a report)."""
        return all(result.outcome != "failed" for result in self.results)

    def result(self, check: AnyCheck) -> CheckResult:
        """The result of `check`.

        Raises:
            KeyError: the check did not run (the kit stopped before it).
        """
        for result in self.results:
            if result.check is check:
                return result
        raise KeyError(check)

    def __str__(self) -> str:
        width = max((len(result.check) for result in self.results), default=0)
        lines = [f"conformance of flow {self.flow!r}:"]
        lines += [
            f"  {result.outcome:<7} {result.check:<{width}}  ({result.seconds:.1f} s) "
            f"{result.detail}"
            for result in self.results
        ]
        return "\n".join(lines)


def assert_conformant(report: ConformanceReport, *, required: Collection[AnyCheck] = ()) -> None:
    """Fail (AssertionError with the whole report) unless every check passed or was skipped.

    Args:
        report: what `check_source` or `check_destination` returned.
        required: checks that must have passed; skipping one of them fails too (a test
            against a system with webhooks requires `Check.WEBHOOKS`, for example).
    """
    failed = [result for result in report.results if result.outcome == "failed"]
    ran = {result.check: result.outcome for result in report.results}
    unmet = [check for check in required if ran.get(check) not in ("passed", "failed")]
    if failed or unmet:
        why = [f"{result.check} failed" for result in failed]
        why += [f"{check} is required but {ran.get(check, 'did not run')}" for check in unmet]
        raise AssertionError(f"{'; '.join(why)}\n{report}")
