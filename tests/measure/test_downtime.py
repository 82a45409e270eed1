"""Downtime and failures measured from a system's answers (measure/answers.py), not from the
breaker alone: a tool down a fifth of the time whose breaker never opens measures down a fifth
of the time; noise that the next attempt gets past measures no downtime."""

from __future__ import annotations

from syncwell.errors import (
    IntegrationFatalError,
    MisconfiguredError,
    RateLimitedError,
    RecordRejectedError,
    TimedOutError,
    TransientError,
)
from syncwell.measure import MinuteRecorder
from syncwell.measure.answers import Answer, DownSpans, answer_of
from syncwell.measure.minutes import FlowMinute


class Wall:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def _total(rows: list[FlowMinute], column: str) -> float:
    return sum(float(getattr(row, column)) for row in rows)


def test_a_source_down_one_second_in_five_measures_down_a_fifth_of_the_time() -> None:
    """Read every second; the last second of every five the tool answers 503 with a
    Retry-After, and the next read (a second later) gets through. No failures came in a row,
    so a breaker would never open; the answers show 2 s down in 10."""
    wall = Wall(0.0)
    recorder = MinuteRecorder(wall)
    maintenance = TransientError("503 down for maintenance", system="crm", retry_after=1.0)
    for second in range(11):
        wall.at = float(second)
        if second % 5 == 4:
            recorder.read_failed("leads", maintenance, in_a_row=3)
        else:
            recorder.read("leads", wall.at)
    rows = recorder.drain()
    assert _total(rows, "source_down_s") == 2.0
    assert _total(rows, "read_failures") == 2
    assert _total(rows, "destination_down_s") == 0.0


def test_noise_the_next_attempt_gets_past_measures_no_downtime() -> None:
    """A 5xx without Retry-After now and then, a 429, a timeout, each followed by a good read:
    nothing shows the tool down (one failure is not an outage), but each is counted by kind."""
    wall = Wall(0.0)
    recorder = MinuteRecorder(wall)
    failures = [
        TransientError("502 bad gateway"),
        RateLimitedError("429", retry_after=2.0),
        TimedOutError("no answer in 10s"),
        TransientError("500"),
    ]
    for n, error in enumerate(failures):
        wall.at = n * 1.0
        recorder.read_failed("tasks", error, in_a_row=2)
        wall.at += 0.4
        recorder.read("tasks", wall.at)
    (row,) = recorder.drain()
    assert row.source_down_s == 0.0
    assert (row.read_failures, row.reads_rate_limited, row.reads_timed_out) == (4, 1, 1)
    assert row.misconfigured == 0


def test_failures_in_a_row_show_the_tool_down_from_the_first_to_the_next_good_answer() -> None:
    """Three failed write attempts in a row (the breaker's threshold), then a success 50 s
    after the first: 50 s down, spread over the minutes it covers. A spell still under way
    counts at each sample up to then, and no second twice."""
    wall = Wall(50.0)
    recorder = MinuteRecorder(wall)
    for at in (50.0, 51.0, 53.0):
        wall.at = at
        recorder.attempted("signups", TransientError("connection refused"), in_a_row=3)
    wall.at = 70.0
    recorder.sampled("signups", backlog=0, breaker_open_s=0.0, headroom=None)
    first = {row.minute: row.destination_down_s for row in recorder.drain()}
    assert first == {0: 10.0, 60: 10.0}
    wall.at = 100.0
    recorder.attempted("signups", None, in_a_row=3)
    later = {row.minute: row.destination_down_s for row in recorder.drain()}
    assert later == {60: 30.0}
    wall.at = 130.0
    recorder.attempted("signups", TransientError("500"), in_a_row=3)  # a new spell, unproven
    wall.at = 131.0
    recorder.attempted("signups", None, in_a_row=3)
    assert _total(recorder.drain(), "destination_down_s") == 0.0


def test_a_configuration_mistake_is_counted_as_such_and_is_no_outage() -> None:
    """Every read refused because the key column allows NULL: counted as misconfigured, and,
    being the user's mistake and not the tool's, no downtime; likewise a write attempt."""
    wall = Wall(0.0)
    recorder = MinuteRecorder(wall)
    mistake = MisconfiguredError("key column(s) email of contacts allow NULL", system="core")
    for second in range(5):
        wall.at = float(second)
        recorder.read_failed("to_email", mistake, in_a_row=1)
    recorder.attempted("to_email", mistake, in_a_row=1)
    (row,) = recorder.drain()
    assert (row.read_failures, row.misconfigured) == (5, 6)
    assert (row.source_down_s, row.destination_down_s) == (0.0, 0.0)


def test_each_failure_is_read_as_the_sign_it_is() -> None:
    """A 429 is a rate-limit sign, a 5xx or dropped connection unavailability, no answer in
    time a timeout, a refused record an answer from a system that is up, a workspace that does
    not fit the system the user's mistake; credentials refused show neither up nor down."""
    assert answer_of(None) is Answer.OK
    assert answer_of(RecordRejectedError("bad email", key="1")) is Answer.OK
    assert answer_of(RateLimitedError("429")) is Answer.RATE_LIMITED
    assert answer_of(TransientError("503")) is Answer.UNAVAILABLE
    assert answer_of(TimedOutError("slow")) is Answer.TIMED_OUT
    assert answer_of(MisconfiguredError("no such column")) is Answer.MISCONFIGURED
    assert answer_of(IntegrationFatalError("401")) is Answer.OTHER
    spans = DownSpans(in_a_row=2)
    assert spans.answered(Answer.RATE_LIMITED, 1.0) is None
    assert spans.answered(Answer.OK, 2.0) is None  # a 429 starts no spell
    assert spans.answered(Answer.UNAVAILABLE, 3.0, said_how_long=True) is None
    assert spans.answered(Answer.OK, 4.5) == (3.0, 4.5)
