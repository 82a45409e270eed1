"""Lines of a report (the constraint's analysis) that read well in a terminal and in a pipe."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

__all__ = ["print_report"]

_HANG = 2
"""How much further a wrapped line goes in than the line it continues."""


def print_report(console: Console, lines: Iterable[str]) -> None:
    """Print each line of a report: in a terminal, wrapped at words with a hanging indent
    (`evidence:` continues two spaces further in, not at the left edge mid-word); elsewhere
    whole, one line each, for a script or a grep."""
    for line in lines:
        if not console.is_terminal:
            console.print(line, highlight=False, markup=False, soft_wrap=True)
            continue
        lead = len(line) - len(line.lstrip(" "))
        room = max(20, console.width - lead - _HANG)
        wrapped = Text(line[lead:]).wrap(console, room, overflow="fold")
        for at, part in enumerate(wrapped):
            part.rstrip()
            indent = " " * (lead if at == 0 else lead + _HANG)
            console.print(Text(indent).append_text(part), highlight=False, crop=False)
