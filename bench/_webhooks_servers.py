"""The two servers under test, each a subprocess on a free loopback port, started and stopped
one at a time: ``syncwell run`` on a workspace, and the bare uvicorn endpoint (_webhooks_bare.py).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

__all__ = ["Cpu", "Server", "bare_command", "free_port", "serving", "syncwell_command"]

_READY_WITHIN_S = 30.0
_STOP_WITHIN_S = 60.0


@dataclass(frozen=True, slots=True)
class Cpu:
    """CPU seconds (user+system) a server has used: on its event loop, and on other threads
    (syncwell's SQLite work runs in aiosqlite's threads)."""

    loop_s: float
    other_s: float

    @property
    def total_s(self) -> float:
        return self.loop_s + self.other_s

    def __sub__(self, before: Cpu) -> Cpu:
        return Cpu(self.loop_s - before.loop_s, self.other_s - before.other_s)


class Server:
    """A running server process: its address, its CPU so far, and how it ended."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], port: int) -> None:
        self.name = name
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.stdout = ""
        self.stderr = ""

    def cpu(self) -> Cpu:
        """CPU used so far, split into the main thread (the event loop) and the others."""
        process = psutil.Process(self.process.pid)
        total = process.cpu_times()
        main = next((t for t in process.threads() if t.id == self.process.pid), None)
        loop_s = 0.0 if main is None else main.user_time + main.system_time
        return Cpu(loop_s, total.user + total.system - loop_s)


def syncwell_command(workspace: Path, port: int) -> list[str]:
    """``syncwell run`` for `workspace`, its progress as JSON on stdout when it stops."""
    beside = Path(sys.executable).parent / "syncwell"
    if not beside.exists():
        raise SystemExit("syncwell is not installed in this venv: run `make bench` first")
    return [str(beside), "run", "-w", str(workspace), "--port", str(port), "--json"]


def bare_command(port: int) -> list[str]:
    return [sys.executable, str(Path(__file__).with_name("_webhooks_bare.py")), str(port)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(name: str, command: Sequence[str], port: int) -> Iterator[Server]:
    """Start `command`, wait until ``GET /readyz`` answers 200, and stop it with SIGTERM
    at the end (the clean stop: syncwell commits what it took in and exits 0)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        server = Server(name, process, port)
        try:
            _wait_ready(server, err)
            yield server
        finally:
            _stop(process)
            out.seek(0)
            err.seek(0)
            server.stdout = out.read().decode(errors="replace")
            server.stderr = err.read().decode(errors="replace")
        if process.returncode != 0:
            raise SystemExit(f"{name} exited with {process.returncode}:\n{server.stderr}")


def _wait_ready(server: Server, err: IO[bytes]) -> None:
    deadline = time.monotonic() + _READY_WITHIN_S
    with httpx.Client(base_url=server.url, timeout=1) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                err.seek(0)
                raise SystemExit(
                    f"{server.name} exited with {server.process.returncode} before it was "
                    f"ready:\n{err.read().decode(errors='replace')}"
                )
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.05)
    raise SystemExit(f"{server.name} was not ready within {_READY_WITHIN_S:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(_STOP_WITHIN_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
