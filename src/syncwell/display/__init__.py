"""How runs, statuses and dead letters look in a terminal (rich) and to scripts (JSON).

Tables fit the terminal they are printed on (display/fit.py): whole when it is wide, stacked
with compact numbers when it is narrow, never cut to `con…`.
"""

from __future__ import annotations

from syncwell.display.report import print_report
from syncwell.display.runs import print_progress, progress_table
from syncwell.display.state import (
    clock_text,
    dead_letter_dict,
    dead_letters_table,
    incident_dict,
    incidents_table,
    moves_table,
    report_dict,
    slots_table,
    status_table,
)

__all__ = [
    "clock_text",
    "dead_letter_dict",
    "dead_letters_table",
    "incident_dict",
    "incidents_table",
    "moves_table",
    "print_progress",
    "print_report",
    "progress_table",
    "report_dict",
    "slots_table",
    "status_table",
]
