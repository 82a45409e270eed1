"""A flow or system named on the command line must be one of the workspace's.

Without this check, `dlq list --flow nosuchflow` printed an empty table and exited 0: a typo
looked like good news. Every command that takes such a name checks it here, in one way.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import typer
from rich.console import Console

__all__ = ["require_known"]

_err = Console(stderr=True)


def require_known(kind: str, given: Iterable[str], known: Sequence[str], where: str) -> None:
    """Exit 2, one line per unknown name, with the close ones and every known name.

    Args:
        kind: what the names are, in the singular: "flow", "system".
        given: the names the command line holds.
        known: the workspace's names of that kind, in file order.
        where: the option or argument that took them (``--flow``), to say which one is wrong.
    """
    unknown = [name for name in dict.fromkeys(given) if name not in known]
    for name in unknown:
        line = unknown_line(kind, name, known, where)
        _err.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    if unknown:
        raise typer.Exit(2)


def unknown_line(kind: str, name: str, known: Sequence[str], where: str) -> str:
    """``no flow 'contcts' (--flow): did you mean 'contacts'? The workspace's flows:
    contacts, deals``."""
    listed = ", ".join(known) if known else "none"
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if not close:
        return f"no {kind} {name!r} ({where}): the workspace's {kind}s are {listed}"
    guess = " or ".join(repr(found) for found in close)
    return f"no {kind} {name!r} ({where}): did you mean {guess}? The workspace's {kind}s: {listed}"
