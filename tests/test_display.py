"""How a run's summary reads in a terminal."""

from __future__ import annotations

from rich.console import Console

from syncwell import display
from syncwell.engine import FlowProgress


def test_the_run_summary_counts_as_written_only_what_the_destination_took() -> None:
    """401 changes settled of which 380 were written and 20 dead-lettered (one refused twice):
    the summary says 380 written, the number `status` and /metrics give, not 401."""
    progress = FlowProgress(
        "f", started_at=0.0, read=401, written=380, settled=401, dead_lettered=20
    )
    console = Console(record=True, width=120)
    console.print(display.progress_table([progress], now=10.0))
    text = console.export_text()
    header, row = (line for line in text.splitlines() if "flow" in line or "│ f " in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    columns = [cell.strip() for cell in header.split("┃")[1:-1]]
    assert "delivered" not in columns
    assert dict(zip(columns, cells, strict=False))["written"] == "380"
    assert dict(zip(columns, cells, strict=False))["dead"] == "20"
