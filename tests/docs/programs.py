"""What can be checked of a command a snippet shows, without running it.

- `syncwell …` (also `.venv/bin/syncwell`): parsed by the real command line, as typed, down to
  its subcommand, without running it: an unknown option, a missing value or an extra
  argument is a problem.
- `python -m syncwell.sandbox …`: parsed as `syncwell sandbox …`, the same command.
- `make TARGET`: the Makefile has that target.
- `.venv/bin/python bench/X.py --flag …`: the script exists and defines each flag.
- `python -c CODE`: the code compiles.
- A filter that reads the previous command's output (`| jq`, `| grep`) goes with that command.

Anything else (curl, psql, sqlite3, …) says so: such a block must run in a test, or be marked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import typer
from typer.core import TyperGroup

from syncwell.cli import app
from tests.docs.blocks import ROOT
from tests.docs.shell import Command

SYNCWELL = frozenset({"syncwell", ".venv/bin/syncwell"})
_PYTHON = frozenset({"python", "python3", ".venv/bin/python"})
_FILTERS = frozenset({"jq", "grep", "head", "tail", "dot", "less", "wc"})
_HARMLESS = frozenset({"mkdir", "cd", "export"})
_TARGET = re.compile(r"^([A-Za-z0-9_.-]+):", re.MULTILINE)


class NotCheckableError(Exception):
    """The command is not one this module can check by reading it."""


def problem_of(command: Command) -> str | None:
    """What is wrong with `command` as a reader would type it, or None.

    Raises:
        NotCheckableError: nothing here can tell without running it.
    """
    program, *args = command.words
    if program in SYNCWELL:
        return syncwell_problem(args)
    if program in _PYTHON and args[:2] == ["-m", "syncwell.sandbox"]:
        return syncwell_problem(["sandbox", *args[2:]])
    if program in _PYTHON and args[:1] == ["-c"] and len(args) == 2:
        compile(args[1], "<python -c>", "exec")
        return None
    if program in _PYTHON and args and args[0].startswith("bench/"):
        return _bench_problem(args[0], args[1:])
    if program == "make":
        missing = [target for target in args if target not in _make_targets()]
        return f"the Makefile has no target {missing}" if missing else None
    if program in _HARMLESS or (command.piped and program in _FILTERS):
        return None
    raise NotCheckableError(program)


def syncwell_problem(args: Sequence[str]) -> str | None:
    """The error the `syncwell` command line gives for `args`, or None when they parse."""
    group = typer.main.get_command(app)
    try:
        context = group.make_context("syncwell", list(args), resilient_parsing=False)
        command = group
        while isinstance(command, TyperGroup):
            rest = [*context._protected_args, *context.args]
            if not rest:
                return f"`syncwell {' '.join(args)}` names no command"
            name, sub, rest = command.resolve_command(context, rest)
            assert sub is not None and name is not None
            context = sub.make_context(name, rest, parent=context, resilient_parsing=False)
            command = sub
    except typer.TyperException as error:  # click's UsageError and its kind, as typer ships it
        return f"`syncwell {' '.join(args)}`: {error}"
    return None


def _bench_problem(script: str, args: list[str]) -> str | None:
    path = ROOT / script
    if not path.exists():
        return f"no script {script}"
    # A bench script reads its flags with argparse, in its own module or a `_` helper beside it.
    sources = "".join(p.read_text() for p in path.parent.glob("*.py"))
    unknown = [a for a in args if a.startswith("--") and f'"{a}"' not in sources]
    return f"{script} defines no flag {unknown}" if unknown else None


@cache
def _make_targets() -> frozenset[str]:
    return frozenset(_TARGET.findall((ROOT / "Makefile").read_text()))
