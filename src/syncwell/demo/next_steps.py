"""The demo's closing lines: the commands to go on with, written so they work as printed.

After `make demo` the venv is not on PATH, and a bare `syncwell` answers "command not found".
So the commands name the `syncwell` that ran the demo (`.venv/bin/syncwell`) unless the shell
already finds that same one, and say how to put the venv on PATH instead. Each command stands
on a line of its own, so it can be copied whole at any terminal width.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def syncwell_command(cwd: Path | None = None) -> str:
    """How this shell reaches the syncwell that is running: `syncwell` when PATH finds this
    one, else the console script's path (relative to `cwd` when it lies under it)."""
    here = Path(sys.executable).parent / "syncwell"  # pip and uv put the script beside python
    if not here.is_file():
        return "syncwell"  # not run from an install (a test's interpreter): nothing better
    found = shutil.which("syncwell")
    if found is not None and Path(found).resolve() == here.resolve():
        return "syncwell"
    try:
        relative = here.relative_to((cwd or Path.cwd()).absolute())
    except ValueError:
        return str(here)
    # A path with a slash runs as typed; a bare name would be looked up on PATH again.
    return str(relative) if relative.parent != Path() else f"./{relative}"


def next_steps(
    workspace: Path, folder: Path, token_file: Path, port: int, command: str
) -> list[str]:
    """The closing lines of the demo: what to run next, each command on its own line."""
    lines = [""]
    if command != "syncwell":
        activate = Path(command).parent / "activate"
        lines += [
            f"Next. The commands name {command}: it is not on PATH.",
            f"After `source {activate}`, plain `syncwell` works too.",
        ]
    else:
        lines.append("Next:")
    dashboard = f"then http://127.0.0.1:{port}/, the token in {token_file}"
    steps = [
        ("The dashboard after the demo:", f"serve -w {workspace} --port {port}", dashboard),
        ("The map, constraint highlighted (add --format svg -o map.svg):", f"map -w {workspace}"),
        ("What if volume doubled:", f"constraint --what-if volume=2x -w {workspace}"),
        ("The dead letters and why each was refused:", f"dlq list -w {workspace}"),
        ("Run it again to resume (docs/tutorial.md walks through it):", f"demo --folder {folder}"),
    ]
    for what, arguments, *then in steps:
        lines += [what, f"  {command} {arguments}", *(f"  {line}" for line in then)]
    return lines
