"""syncwell: the integration engine that keeps your core system in sync with the tools at the
centre of your customers' work, and names the one integration that holds the workflow back.

Run a workspace from code::

    import asyncio
    import syncwell

    workspace = syncwell.load_workspace("syncwell.yaml")
    asyncio.run(syncwell.Engine(workspace).run(once=True))

Write a connector: implement `syncwell.Source` or `syncwell.Destination` (see
docs/connectors/), raising the classes of `syncwell.errors`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from syncwell.connectors.base import Destination, Source
from syncwell.engine import Engine, FlowProgress
from syncwell.types import ChangeBatch, Checkpoint, Clock, Op, Row, StreamSpec, SystemClock
from syncwell.workspace import Workspace, WorkspaceProblems, load_workspace, parse_workspace

try:
    # pyproject.toml's version is the only one: the installed package's metadata carries it.
    __version__ = version("syncwell")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ChangeBatch",
    "Checkpoint",
    "Clock",
    "Destination",
    "Engine",
    "FlowProgress",
    "Op",
    "Row",
    "Source",
    "StreamSpec",
    "SystemClock",
    "Workspace",
    "WorkspaceProblems",
    "__version__",
    "load_workspace",
    "parse_workspace",
]
