"""The commands a shell snippet runs, as word lists, read the way a reader's shell reads them.

Enough of the shell for documentation: `\\` continuations, comments, quotes, here-documents
(their body is input, not commands), `$( … )` (its command is checked too), pipes, `&&`, `;`,
`&`, redirections and leading `VAR=value` assignments. A console block's commands are its
`$ ` lines; the other lines are output.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
_HEREDOC = re.compile(r"<<-?\s*'?\"?(\w+)'?\"?")
_SEPARATORS = frozenset({"|", "||", "&&", ";", "&"})
_REDIRECTS = frozenset({">", ">>", "<", "2>", "2>&1", "<<", "<<-", ">&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One simple command: its words after any `VAR=value`, and whether output is piped in."""

    words: tuple[str, ...]
    piped: bool  # reads the output of the command before it (`a | b`)
    line: str  # the source line, for messages


def console_input(text: str) -> str:
    """The commands typed in a console session: the `$ ` lines, without the prompt."""
    return "\n".join(line[2:] for line in text.splitlines() if line.startswith("$ "))


def command_lines(text: str) -> list[str]:
    """Logical lines: continuations joined, here-document bodies left out."""
    lines: list[str] = []
    pending = ""
    until: str | None = None
    for raw in text.splitlines():
        if until is not None:
            if raw.strip() == until:
                until = None
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = pending + raw
        if not _quotes_closed(line):
            pending = line + "\n"  # a quoted argument goes on over the line's end
            continue
        pending = ""
        heredoc = _HEREDOC.search(line)
        if heredoc:
            until = heredoc.group(1)
        if line.strip():
            lines.append(line)
    return lines


def _quotes_closed(line: str) -> bool:
    try:
        shlex.split(line, comments=True)
    except ValueError:
        return False
    return True


def commands(text: str) -> list[Command]:
    """Every simple command of a shell snippet, those inside `$( … )` included."""
    found: list[Command] = []
    for line in command_lines(text):
        found.extend(_commands_of(line))
    return found


def _commands_of(line: str) -> list[Command]:
    inner: list[Command] = []
    while match := _SUBSTITUTION.search(line):
        inner.extend(_commands_of(match.group(1)))
        line = line[: match.start()] + "SUBSTITUTED" + line[match.end() :]
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    simple: list[list[str]] = [[]]
    piped = [False]
    skip_next = False
    for word in lexer:
        if skip_next:
            skip_next = False
        elif word in _SEPARATORS:
            simple.append([])
            piped.append(word == "|")
        elif word in _REDIRECTS:
            skip_next = True  # the file (or here-document word) is not an argument
        else:
            simple[-1].append(word)
    result = []
    for words, was_piped in zip(simple, piped, strict=True):
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
        if words:
            result.append(Command(tuple(words), was_piped, line))
    return inner + result
