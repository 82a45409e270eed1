"""What the loader found wrong, and the one exception that reports all of it.

Checks return `Problem`s (a key path and a sentence) instead of raising, so that one run of
``syncwell check`` shows every mistake in the file, not just the first. The loader gives each
problem its line and raises them together as `WorkspaceProblems`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from syncwell.errors import WorkspaceError

__all__ = ["KeyPath", "Problem", "WorkspaceProblems", "did_you_mean", "dotted"]

KeyPath = tuple[str | int, ...]
"""Where a value sits in the file: mapping keys and list indexes, ``("flows", "a", "key", 0)``."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One mistake: where it is and what to do about it.

    Attributes:
        key: the path of the offending value (or of the missing field).
        message: what is wrong and the fix.
        line: the line, when the key cannot tell it (a tab, a YAML syntax error).
    """

    key: KeyPath
    message: str
    line: int | None = None


# The name the lead's brief gives it, which callers already use; "Error" is its base's name.
class WorkspaceProblems(WorkspaceError):  # noqa: N818
    """Every problem found in one workspace file, one per line of the message.

    Its `path`, `line` and `key` are those of the first problem, so code that reads one
    `WorkspaceError` still points at a real mistake.

    Args:
        problems: the problems, in the order to show them; at least one.
    """

    def __init__(self, problems: Sequence[WorkspaceError]) -> None:
        if not problems:
            raise ValueError("WorkspaceProblems needs at least one problem")
        self.problems: tuple[WorkspaceError, ...] = tuple(problems)
        first = self.problems[0]
        summary = "\n".join(str(problem) for problem in self.problems)
        super().__init__(summary, path=first.path, line=first.line, key=first.key)

    def __str__(self) -> str:
        # Each line already carries its own path:line: [key]; a prefix would repeat the first.
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        return (WorkspaceProblems, (self.problems,))


def dotted(key: KeyPath) -> str:
    """The key as people read it: ``flows.contacts.key[0]``."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'interval'?"`` when a choice is close to `word`, else ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
