"""Tables stay legible at 80 columns: nothing cut, every value there (display/fit.py).

The data is the demo's, as one 20-second run left it: five flows, the long names among them, a
CRM that answered 502 once, dead letters with e-mail keys, an open drift incident.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console, RenderableType

from syncwell import display
from syncwell.analyze import Move
from syncwell.display import compact
from syncwell.engine import FlowProgress
from syncwell.store import DeadLetter, FlowReport, Incident
from syncwell.store.verifications import FlowVerification
from syncwell.types import ChangeBatch

NOW = 1_796_652_068.0
CRM_502 = (
    'crm: GET /v1/contacts answered 502 Bad Gateway: {"status":"error","message":"bad '
    'gateway","category":"INTERNAL_ERROR"}'
)


def _render(table: RenderableType, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def _assert_legible(text: str, width: int) -> None:
    """No line past the width, no cell cut with an ellipsis."""
    assert "…" not in text, text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width, text


def _progress() -> list[FlowProgress]:
    def flow(name: str, **counts: int) -> FlowProgress:
        return FlowProgress(name, started_at=NOW - 20, **counts)  # type: ignore[arg-type]

    crm = flow("contacts_from_crm", read=4_812, written=4_998, settled=4_998, hooked=308)
    crm.last_error = "TransientError: " + CRM_502
    return [
        flow("contacts_to_crm", read=5_731, written=3_025, settled=5_220, matched=413,
             dead_lettered=3, echoes=2_140),
        crm,
        flow("audience", read=3_003, written=3_000, settled=3_003, dead_lettered=3),
        flow("tasks", read=500, written=500, settled=500),
    ]  # fmt: skip


def _reports() -> list[FlowReport]:
    def report(name: str, checkpoint: dict[str, object] | None, **fields: object) -> FlowReport:
        values: dict[str, object] = {
            'checkpoint_at': NOW - 5, 'backlog': 0, 'oldest_pending_at': None,
            'last_success_at': NOW - 21, 'written': 0, 'retries': 0, 'dead_lettered': 0,
            'dead_letters': 0, 'failures_24h': 0, 'last_failure': "", 'last_failure_at': None,
        }  # fmt: skip
        return FlowReport(flow=name, checkpoint=checkpoint, **(values | fields))  # type: ignore[arg-type]

    def verified(name: str, drifted: int = 0) -> FlowVerification:
        return FlowVerification(name, 200, drifted, drifted, NOW - 10, NOW - 10)

    return [
        report("contacts_to_crm", {"phase": "incremental", "cursor": "2026-12-07T14:01:05.935579Z"},
               written=3_025, matched=413, dead_lettered=3, dead_letters=3),
        report("contacts_from_crm", {"phase": "full"}, backlog=104, written=4_998,
               dead_letters=1, failures_24h=3, last_failure=CRM_502, last_failure_at=NOW - 200,
               verification=verified("contacts_from_crm")),
        report("audience", {"phase": "incremental", "cursor": "2026-12-01T00:00:45.617168Z"},
               written=3_000, dead_letters=3, verification=verified("audience", 50)),
        report("onboarding_call", None, last_success_at=None),
    ]  # fmt: skip


def _letters() -> list[DeadLetter]:
    batch = ChangeBatch(("email",), [("x",)])
    rows = [
        (7, "contacts_to_crm", "sam at ourapp", "invalid email 'sam at ourapp'"),
        (5, "contacts_to_crm", "chris@@users.ourapp.example", "invalid email [chris@@]"),
        (4, "contacts_from_crm", "priya.brown@willowcrest.io",
         "NOT NULL constraint failed: contacts.updated_at"),
    ]  # fmt: skip
    return [
        DeadLetter(id_, flow, key, "upsert", "1", reason, "RecordRejectedError", 3, "open",
                   NOW - 70, None, None, None, batch)
        for id_, flow, key, reason in rows
    ]  # fmt: skip


def _incidents() -> list[Incident]:
    return [
        Incident(1, "email", "audience", "drift", "50 of 200 records read back in the last 5 "
                 "minutes came back different (25%, above 0%)", NOW - 200, None),
        Incident(2, "crm", "contacts_from_crm", "breaker_open", "3 writes failed in a row",
                 NOW - 900, NOW - 700),
    ]  # fmt: skip


def _values(text: str) -> str:
    """The text with table borders and wrapping undone, to look values up in."""
    return " ".join(re.sub(r"[│┃┏┓┗┛┡┩└┘┌┐━─╇╈┳┻┼]", " ", text).split())


@pytest.mark.parametrize("width", [80, 120])
def test_the_run_table_keeps_every_flow_and_number_whole(width: int) -> None:
    text = _render(display.progress_table(_progress(), NOW, title="run summary"), width)
    _assert_legible(text, width)
    values = _values(text)
    for name in ("contacts_to_crm", "contacts_from_crm", "audience", "tasks"):
        assert name in values
    numbers = ("5.7k", "3k", "413", "5k", "308", "2.1k")  # 80: compact, 5,731 reads 5.7k
    if width == 120:  # every column fits side by side with its numbers in full
        numbers = ("5,731", "3,025", "413", "4,998", "308", "2,140")
    for number in numbers:
        assert re.search(rf"(^|\s){re.escape(number)}(\s|$)", values), (number, text)
    assert "answered 502 Bad Gateway" in values  # the last error, whole, not cut at 48
    assert all(line == line.rstrip() for line in text.splitlines())  # none padded: a file, a pipe


def test_the_run_table_is_the_full_table_when_the_terminal_is_wide() -> None:
    """At 200 columns, the box-drawn table as before, numbers in full."""
    text = _render(display.progress_table(_progress(), NOW, title="run summary"), 200)
    _assert_legible(text, 200)
    assert "┃ flow" in text and "5,731" in text and "2,140" in text


@pytest.mark.parametrize("width", [80, 120])
def test_status_keeps_checkpoints_drift_and_the_last_error_whole(width: int) -> None:
    text = _render(display.status_table(_reports(), now=NOW), width)
    _assert_legible(text, width)
    values = _values(text)
    for name in ("contacts_to_crm", "contacts_from_crm", "audience", "onboarding_call"):
        assert name in values
    assert "2026-12-07T14:01:05.935579Z" in values  # the cursor, whole
    assert "104" in values and "21s ago" in values and "never" in values
    assert "50 of 200, 50 gone" in values
    assert "3m 20s ago: crm: GET /v1/contacts answered 502" in values


@pytest.mark.parametrize("width", [80, 120])
def test_dead_letters_keep_keys_and_reasons_whole(width: int) -> None:
    text = _render(display.dead_letters_table(_letters()), width)
    _assert_legible(text, width)
    values = _values(text)
    assert "chris@@users.ourapp.example" in values and "priya.brown@willowcrest.io" in values
    assert "invalid email [chris@@]" in values  # brackets are text, not markup
    assert "NOT NULL constraint failed: contacts.updated_at" in values


@pytest.mark.parametrize("width", [80, 120])
def test_incidents_say_how_long_in_minutes_and_seconds(width: int) -> None:
    text = _render(display.incidents_table(_incidents(), now=NOW), width)
    _assert_legible(text, width)
    values = _values(text)
    assert "open 3m 20s" in values and "3m 20s" in values
    assert "came back different (25%, above 0%)" in values


@pytest.mark.parametrize("width", [80, 120])
def test_the_constraint_history_keeps_its_reasons(width: int) -> None:
    moves = [Move(NOW, None, None, "projects", "poll_interval", "tasks polls every 4h, SLO 30m")]
    text = _render(display.moves_table(moves), width)
    _assert_legible(text, width)
    assert "projects (poll_interval)" in _values(text)


def test_compact_numbers_and_durations() -> None:
    assert [compact.count(n) for n in (999, 5_731, 12_345, 999_999, 1_234_567)] == [
        "999", "5.7k", "12.3k", "1M", "1.2M",
    ]  # fmt: skip
    assert [compact.duration(s) for s in (45, 200, 3_600, 7_260, 90_000)] == [
        "45s", "3m 20s", "1h", "2h 1m", "1d 1h",
    ]  # fmt: skip
    assert [compact.per_second(r) for r in (0.44, 261.4, 1_234.5)] == ["0.4", "261", "1.2k"]


def test_a_first_sync_shows_its_share_done_and_eta_when_stacked() -> None:
    """At 80 columns the 20-character bar gives way to the share done, and the ETA reads in
    minutes and seconds; at 200 the bar is back, the ETA the same."""
    progress = FlowProgress(
        "contacts_from_crm", started_at=NOW - 100, estimate=60_000, read=12_000, settled=12_000
    )
    text = _render(display.progress_table([progress], NOW), 80)
    _assert_legible(text, 80)
    narrow = _values(text)
    assert "done" in narrow and "20%" in narrow
    assert "12k/~60k" in narrow and "6m 40s" in narrow  # 48,000 left at 120/s
    wide = _render(display.progress_table([progress], NOW), 200)
    assert "━" in wide and "12,000 / ~60,000" in wide and "6m 40s" in wide


REPORT = [
    "constraint: projects — poll_interval (flow tasks)",
    "  evidence: tasks reads projects every 4h, so a change can wait 4h before it is even read, "
    "against a freshness SLO of 30m",
    "  advice: switch tasks to `flows.tasks.mode: realtime` if projects can send webhooks "
    "(declare them in `systems.projects.webhooks`; polling stays as the safety net)",
]


def test_the_constraint_report_wraps_at_words_with_a_hanging_indent_in_a_terminal() -> None:
    """Before, each line went out whole and the terminal broke it mid-word at the left edge."""
    console = Console(width=80, file=io.StringIO(), force_terminal=True, color_system=None)
    display.print_report(console, REPORT)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert max(len(line) for line in lines) <= 80
    assert lines[1].startswith("  evidence: tasks reads")
    assert lines[2].startswith("    ") and not lines[2].startswith("     ")  # two further in
    assert " ".join(" ".join(lines).split()) == " ".join(" ".join(REPORT).split())  # no word cut


def test_the_constraint_report_keeps_its_lines_whole_in_a_pipe() -> None:
    console = Console(width=80, file=io.StringIO(), color_system=None)
    display.print_report(console, REPORT)
    assert console.file.getvalue().splitlines() == REPORT  # type: ignore[attr-defined]
