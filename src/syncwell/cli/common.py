"""What every command shares: the app, the consoles, the common options, loading the workspace."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, TypeVar

import structlog
import typer
from rich.console import Console
from rich.markup import escape

from syncwell.cli.commands import SyncwellTyper
from syncwell.cli.failures import remember_workspace
from syncwell.errors import SyncwellError, WorkspaceError
from syncwell.workspace import Workspace, load_workspace

app = SyncwellTyper(
    no_args_is_help=True,
    add_completion=False,
    help="syncwell: keep your core system in sync with the tools your customers live in.",
)
dlq_app = SyncwellTyper(no_args_is_help=True, help="Dead letters: list, show, replay, discard.")
app.add_typer(dlq_app, name="dlq")
token_app = SyncwellTyper(
    no_args_is_help=True, help="API tokens: create (viewer, operator, admin), list, revoke."
)
app.add_typer(token_app, name="token")

out = Console()
err = Console(stderr=True)

WorkspaceOption = Annotated[
    Path,
    typer.Option(
        "--workspace", "-w", envvar="SYNCWELL_WORKSPACE", help="The workspace file to use."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DEFAULT_WORKSPACE = Path("syncwell.yaml")


_T = TypeVar("_T")


def carried(work: Coroutine[object, object, _T]) -> _T:
    """Run `work`; an expected failure (a system that cannot be reached or refuses) is one
    line, escaped so brackets in it show, and exit 1: not a traceback."""
    try:
        return asyncio.run(work)
    except SyncwellError as error:
        err.print(f"[red]{escape(str(error))}[/red]", highlight=False)
        raise typer.Exit(1) from None


def load(path: Path) -> Workspace:
    """The workspace at `path`; when there is none, say how to name or start one, and on a
    mistake, print every problem: exit 2 either way."""
    file = path / "syncwell.yaml" if path.is_dir() else path
    if not file.exists():
        err.print(
            f"no workspace file {file}: name yours with -w PATH (or SYNCWELL_WORKSPACE=PATH), "
            "or start one with `syncwell init` (docs/workspace.md has a complete example)",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    try:
        loaded = load_workspace(path)
    except WorkspaceError as error:
        # Escaped: each problem's `[flows.x.cursor]` would otherwise be read as markup and vanish.
        err.print(f"[red]invalid workspace[/red]\n{escape(str(error))}", highlight=False)
        raise typer.Exit(2) from error
    remember_workspace(file, loaded.state)
    return loaded


def configure_logging(verbose: bool) -> None:
    """Log to stderr: warnings, or every step with `verbose`."""
    level = logging.INFO if verbose else logging.WARNING
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Looked up at each log call, so a replaced sys.stderr (tests, rich's Live) is honoured.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
    )
