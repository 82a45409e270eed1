"""The command and group classes every `syncwell` command is made of.

They do three things for every command at once: an expected failure (cli/failures.py) is one
line and exit 1, never a traceback; a flag shows in `--help` as a flag, not with a `<bool>`
type; and `syncwell --help` lists the commands in panels, the ones a newcomer starts with
first.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import Callable
from typing import Any, NoReturn

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup, TyperOption

from syncwell.cli.failures import explain

__all__ = ["PANELS", "SyncwellCommand", "SyncwellGroup", "SyncwellTyper"]

# The panels of `syncwell --help`, in order, and the commands of each in order. A command left
# out here is listed last, under "More".
PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Start", ("demo", "init", "check", "probe", "plan", "tables")),
    ("Run", ("run", "worker", "serve")),
    ("Inspect", ("status", "map", "constraint", "incidents", "tickets")),
    ("Repair", ("dlq", "resync")),
    ("Admin", ("token", "transport")),
    ("Development", ("sandbox", "dev")),
)
_ORDER = [name for _, names in PANELS for name in names]
_PANEL = {name: panel for panel, names in PANELS for name in names}

_err = Console(stderr=True)


def _joined(help_text: object) -> object:
    """A docstring's paragraphs, each on one line: typer's rich help keeps a paragraph's line
    breaks, which cut the command list mid-sentence. A paragraph starting with a backslash-b
    line (click's mark for "keep as written") is left alone."""
    if not isinstance(help_text, str):
        return help_text
    paragraphs = inspect.cleandoc(help_text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


def _as_flags(params: list[Any]) -> list[Any]:
    """Show a flag without the `<bool>` type typer gives it: `--json`, not `--json <bool>`."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""
    return params


class SyncwellCommand(TyperCommand):
    """A command whose expected failures are one line, and whose flags look like flags."""

    def __init__(self, **settings: Any) -> None:
        settings["help"] = _joined(settings.get("help"))
        super().__init__(**settings)

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, flags without a type (the help option included)."""
        return _as_flags(super().get_params(ctx))

    def invoke(self, ctx: Any) -> Any:
        """Run the command; an expected failure is one line with its fix, and exit 1."""
        # A context of its own: what the command notes for its failures (the workspace it
        # loaded) is never a previous command's, when several run in one process (tests).
        return contextvars.copy_context().run(self._invoke, ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as error:  # `explain` picks the expected ones; the rest go on
            options = {
                param.name: (param.opts[0], ctx.params.get(param.name))
                for param in self.params
                if isinstance(param, TyperOption) and param.name and param.opts
            }
            line = explain(error, options)
            if line is None:
                raise
            _fail(line, error)


def _fail(line: str, error: BaseException) -> NoReturn:
    # Markup off: a driver's message may hold brackets. One line, however wide.
    _err.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1) from error


class SyncwellGroup(TyperGroup):
    """A group whose flags have no type; at the top, its commands listed by panel (PANELS)."""

    def __init__(self, **settings: Any) -> None:
        settings["help"] = _joined(settings.get("help"))
        super().__init__(**settings)

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, flags without a type (the help option included)."""
        return _as_flags(super().get_params(ctx))

    def list_commands(self, ctx: Any) -> list[str]:
        """`syncwell`'s commands in the order of PANELS, each given its panel, others last;
        a group under it (`dlq`, `token`) keeps its own order."""
        names = super().list_commands(ctx)
        if ctx.parent is not None:
            return names
        for name in names:
            command = self.commands[name]
            # typer leaves a placeholder, not None, where no panel was asked for.
            if not isinstance(getattr(command, "rich_help_panel", None), str):
                command.rich_help_panel = _PANEL.get(name, "More")  # type: ignore[attr-defined]
        known = [name for name in _ORDER if name in names]
        return known + [name for name in names if name not in _PANEL]


class SyncwellTyper(typer.Typer):
    """A `typer.Typer` whose groups and commands are syncwell's (the classes above)."""

    def __init__(self, **settings: Any) -> None:
        settings.setdefault("cls", SyncwellGroup)
        super().__init__(**settings)

    def command(  # type: ignore[override]
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **settings: Any
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a command, a `SyncwellCommand` unless `cls` says otherwise."""
        return super().command(name, cls=cls or SyncwellCommand, **settings)
