"""What a system's answers say: whether it was up, rate-limiting us, or misconfigured.

A failure's class says what it is a sign of (syncwell.errors): a 429 is a rate-limit signal,
a 5xx, a dropped connection or no answer in time an availability signal, a workspace that does
not fit the system the user's mistake. Downtime is measured from the answers themselves, not
from the breaker alone (a breaker that retries keep closed never opens, however often the tool
is down): a system is **down** from a failed answer that shows it unavailable until its next
successful answer. A failed answer shows it unavailable when the system said for how long (a
`Retry-After` on a 5xx: it announced it), or when it is one of `in_a_row` failed answers in a
row (the system's `breaker.failure_threshold`, the count that means "down" to its breaker).
One failure that the next attempt gets past is noise, not an outage: nothing proves the
system was down for longer than that one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from syncwell.errors import (
    MisconfiguredError,
    RateLimitedError,
    RecordRejectedError,
    TimedOutError,
    TransientError,
)

__all__ = ["Answer", "DownSpans", "answer_of", "said_how_long"]


class Answer(StrEnum):
    """What one answer (or its absence) was a sign of."""

    OK = "ok"
    """The system answered: a success, or a record it refused (it was up to refuse it)."""
    UNAVAILABLE = "unavailable"
    """A 5xx, a dropped connection: the system could not serve."""
    TIMED_OUT = "timed_out"
    """No answer in time: unavailable too, and counted apart (a slow tool)."""
    RATE_LIMITED = "rate_limited"
    """A 429: the system is up and asks us to slow down."""
    MISCONFIGURED = "misconfigured"
    """The workspace does not fit the system: the user's mistake."""
    OTHER = "other"
    """Credentials refused, a connector's bug: neither up nor down is shown."""


def answer_of(error: BaseException | None) -> Answer:
    """The sign an attempt's outcome gives: `error` is what it raised, None for a success."""
    if error is None or isinstance(error, RecordRejectedError):
        return Answer.OK
    if isinstance(error, RateLimitedError):
        return Answer.RATE_LIMITED
    if isinstance(error, TimedOutError):
        return Answer.TIMED_OUT
    if isinstance(error, TransientError):
        return Answer.UNAVAILABLE
    if isinstance(error, MisconfiguredError):
        return Answer.MISCONFIGURED
    return Answer.OTHER  # an IntegrationFatalError (credentials), or a connector's bug


def said_how_long(error: BaseException | None) -> bool:
    """Whether a failed answer said how long the system will be unavailable: a 5xx (not a
    429) with a Retry-After."""
    return (
        isinstance(error, TransientError)
        and not isinstance(error, RateLimitedError)
        and error.retry_after is not None
    )


@dataclass(slots=True)
class DownSpans:
    """One system's spans without a successful answer, as one flow sees them.

    Feed it every answer (`answered`); it hands back the seconds that are known to have been
    down, as (start, end) spans, once they are: when a success ends a span that showed the
    system down, or at a flush (`so_far`) while such a span is still under way.
    """

    in_a_row: int
    """Failed answers in a row that show the system down (its breaker's threshold)."""
    _since: float | None = None
    _failures: int = 0
    _shown: bool = False

    def answered(
        self, answer: Answer, at: float, *, said_how_long: bool = False
    ) -> tuple[float, float] | None:
        """Note one answer at `at`; the span it closes, if it closes one that was down."""
        if answer is Answer.OK:
            span = self.so_far(at)
            self._since, self._failures, self._shown = None, 0, False
            return span
        if answer not in (Answer.UNAVAILABLE, Answer.TIMED_OUT):
            return None  # a 429 or the user's mistake says nothing of being up or down
        if self._since is None:
            self._since = at
        self._failures += 1
        self._shown = self._shown or said_how_long or self._failures >= self.in_a_row
        return None

    def so_far(self, at: float) -> tuple[float, float] | None:
        """The part of a span still under way that is known to be down, up to `at`; the
        span then goes on from `at` (so no second counts twice)."""
        if self._since is None or not self._shown or at <= self._since:
            return None
        span = (self._since, at)
        self._since = at
        return span
