"""The destination kit's bookkeeping: each check's outcome and time, and how a record read
back is compared with the one sent."""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

from syncwell.testing.report import AnyCheck, CheckResult, DestinationCheck, Outcome

__all__ = ["Step", "Verdicts", "mismatches"]

Step = Callable[[], Awaitable[tuple[Outcome, str]]]
"""One check: its outcome and what it saw."""

_ABSENT = object()


class Verdicts:
    """The results of the checks run so far, in the order of `DestinationCheck`."""

    def __init__(self) -> None:
        self._results: list[CheckResult] = []

    async def run(self, check: DestinationCheck, step: Step) -> bool:
        """Run `step` as `check`; an exception it raises fails the check with its words."""
        started = time.monotonic()
        try:
            outcome, detail = await step()
        except Exception as error:  # what the check saw: reported, not raised
            outcome, detail = "failed", f"raised {type(error).__name__}: {error}"
        self._results.append(CheckResult(check, outcome, detail, time.monotonic() - started))
        return outcome == "passed"

    def skip(self, check: DestinationCheck, why: str) -> None:
        self._results.append(CheckResult(check, "skipped", why))

    def results(self) -> tuple[CheckResult, ...]:
        order: list[AnyCheck] = list(DestinationCheck)
        return tuple(sorted(self._results, key=lambda result: order.index(result.check)))


def mismatches(
    sent: Mapping[str, object], found: Mapping[str, object], compare: Collection[str] | None
) -> list[str]:
    """How the record read back differs from the one sent, field by field."""
    problems = []
    for name, value in sent.items():
        if compare is not None and name not in compare:
            continue
        got = found.get(name, _ABSENT)
        if got is _ABSENT:
            problems.append(f"{name} was sent as {value!r} and is not read back")
        elif not _same(value, got):
            problems.append(f"{name} was sent as {value!r} and reads back as {got!r}")
    return problems


def _same(sent: object, got: object) -> bool:
    """Equal as the destination keeps it: a number may come back as text or a float, a
    value of any type as the text it was written as."""
    if sent == got:
        return True
    if isinstance(sent, int | float) and isinstance(got, int | float):
        return math.isclose(sent, got)
    return str(sent) == str(got)
