"""A table that fits the terminal it is printed on: whole when it is wide, stacked when not.

Rich squeezes a table too wide for its terminal by cutting every column (`con…`, `20,…`),
which hides the very numbers a person looks for. A `FittedTable` decides at each rendering,
from the width it is given (a terminal, a pipe's 80 columns, a live view being resized):

- wide enough for every column whole: the full table, as before;
- narrower: stacked. The first columns that fit side by side, with values in full when every
  column fits so, else compact (5.7k, 1.2M, 3m 20s); under each row what did not fit, as
  `name value` pairs, then each free-text column (an error, a reason) on its own line,
  wrapped, never cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["Column", "FittedTable", "Row"]

_TEXT_MIN = 24
"""The narrowest a free-text column may be in the full table before the table is stacked."""
_QUIET = ("", "-", "0")
_GAP = "  "
"""Between two columns of a stacked table."""
"""Values not worth a line under a row: nothing, none, zero."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column: its header, its header when stacked, and how its values read.

    Attributes:
        name: the header of the full table.
        short: the header when stacked (default: `name`).
        right: numbers, aligned right.
        text: free text (an error, a reason): wraps in the full table; its own line when
            stacked.
    """

    name: str
    short: str = ""
    right: bool = False
    text: bool = False

    @property
    def label(self) -> str:
        """The header when stacked."""
        return self.short or self.name


@dataclass(frozen=True, slots=True)
class Row:
    """A row's cells: as the full table shows them, and compact (markup text) when stacked."""

    full: Sequence[RenderableType]
    narrow: Sequence[str]


class FittedTable:
    """Rows under columns, in the full table or stacked, whichever the width allows.

    Args:
        columns: the columns, the first the row's name (always shown), in the order a person
            wants them when few fit.
        rows: the rows, a cell per column in each form.
        title: the title over the table.
    """

    def __init__(self, columns: Sequence[Column], rows: Sequence[Row], title: str = "") -> None:
        self.columns = list(columns)
        self.rows = list(rows)
        self.title = title

    def full(self) -> Table:
        """The whole table: every column, values in full."""
        table = Table(title=self.title or None)
        for column in self.columns:
            table.add_column(
                column.name,
                justify="right" if column.right else "left",
                no_wrap=not column.text,
                overflow="fold",
            )
        for row in self.rows:
            table.add_row(*row.full)
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self._full_width(console, options) <= options.max_width:
            yield self.full()
        else:
            yield from self._stacked(console, options.max_width)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(min(options.max_width, 20), self._full_width(console, options))

    def _full_width(self, console: Console, options: ConsoleOptions) -> int:
        """The full table's width with every column whole (free text at its narrowest)."""
        total = 3 * len(self.columns) + 1  # a border and a space either side of each cell
        for at, column in enumerate(self.columns):
            cells = [Measurement.get(console, options, row.full[at]).maximum for row in self.rows]
            widest = max([Text(column.name).cell_len, *cells])
            total += min(widest, _TEXT_MIN) if column.text else widest
        return total

    def _stacked(self, console: Console, width: int) -> RenderResult:
        """The first columns that fit side by side; the rest under each row. Values in full
        when every column fits so, else compact."""
        cells = [list(row.full) for row in self.rows]
        if not all(isinstance(c, str) for row in cells for c in row) or not self._fits(
            cells, width
        ):
            cells = [list(row.narrow) for row in self.rows]
        texts = [[str(cell) for cell in row] for row in cells]
        widths = [
            max([len(column.label), *(_width(row[at]) for row in texts)])
            for at, column in enumerate(self.columns)
        ]
        shown, used = [0], widths[0]
        for at, column in enumerate(self.columns[1:], start=1):
            if not column.text and used + len(_GAP) + widths[at] <= width:
                shown.append(at)
                used += len(_GAP) + widths[at]
        if self.title:
            yield Text(self.title, style="bold")
        yield self._line(shown, widths, [column.label for column in self.columns], "bold")
        for row in texts:
            yield self._line(shown, widths, row)
            for under in self._under(row, shown):
                # Wrapped here, indented by two: no trailing spaces in a pipe or a file.
                for line in Text.from_markup(under).wrap(console, width - 2, overflow="fold"):
                    line.rstrip()
                    yield Text("  ").append_text(line)

    def _fits(self, cells: list[list[RenderableType]], width: int) -> bool:
        """Whether every column but free text fits side by side with these values."""
        widths = [
            max([len(column.label), *(_width(str(row[at])) for row in cells)])
            for at, column in enumerate(self.columns)
            if not column.text
        ]
        return sum(widths) + len(_GAP) * (len(widths) - 1) <= width

    def _line(self, shown: list[int], widths: list[int], cells: list[str], style: str = "") -> Text:
        """One line of the stacked table: fixed widths, so lines printed apart still align;
        two spaces between columns, none after the last."""
        parts = []
        for at in shown:
            cell = Text.from_markup(cells[at] if len(cells) > at else "")
            cell.align("right" if self.columns[at].right else "left", widths[at])
            parts.append(cell)
        line = Text(_GAP).join(parts)
        line.rstrip()
        line.stylize(style)
        line.no_wrap, line.overflow = True, "fold"
        return line

    def _under(self, row: list[str], shown: list[int]) -> list[str]:
        """What a row says beyond its shown columns: a line of `name value` pairs, then a line
        per free-text column."""
        rest = [at for at in range(len(self.columns)) if at not in shown]
        pairs = [
            f"{self.columns[at].label} {row[at]}"
            for at in rest
            if not self.columns[at].text and _plain(row[at]) not in _QUIET
        ]
        texts = [
            f"{self.columns[at].label}: {row[at]}"
            for at in rest
            if self.columns[at].text and _plain(row[at]) not in _QUIET
        ]
        return ([" · ".join(pairs)] if pairs else []) + texts


def _width(markup: str) -> int:
    return Text.from_markup(markup).cell_len


def _plain(markup: str) -> str:
    return Text.from_markup(markup).plain.strip()
