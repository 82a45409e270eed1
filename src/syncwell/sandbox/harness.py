"""Running the sandbox beside a test or a script: on a background thread, or as a process.

In async code, `async with Sandbox(config)` is simplest. `SandboxThread` serves sync code (its
own event loop on its own thread); `SandboxProcess` runs `python -m syncwell.sandbox`, which
can be killed and restarted like a real remote tool.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from syncwell.sandbox.config import SandboxConfig
from syncwell.sandbox.server import SandboxEndpoints, serve_sandbox

__all__ = ["SandboxProcess", "SandboxThread"]

_POLL_S = 0.02


class SandboxThread:
    """The sandbox on a daemon thread; `with SandboxThread(config) as endpoints: ...`."""

    def __init__(self, config: SandboxConfig, *, timeout_s: float = 30.0) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self._started = threading.Event()
        self._endpoints: SandboxEndpoints | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoints(self) -> SandboxEndpoints:
        if self._endpoints is None:
            raise RuntimeError("the sandbox thread is not running")
        return self._endpoints

    def start(self) -> SandboxEndpoints:
        """Start the thread and wait until every tool listens.

        Raises:
            TimeoutError: when the tools do not come up in `timeout_s`.
        """
        self._thread = threading.Thread(target=self._run, name="syncwell-sandbox", daemon=True)
        self._thread.start()
        if not self._started.wait(self.timeout_s):
            raise TimeoutError(f"the sandbox did not start within {self.timeout_s} s")
        if self._error is not None:
            raise RuntimeError("the sandbox failed to start") from self._error
        return self.endpoints

    def stop(self) -> None:
        """Stop the tools and wait for the thread to end."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(self.timeout_s)
        self._endpoints = None

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def started(endpoints: SandboxEndpoints) -> None:
            self._endpoints = endpoints
            self._started.set()

        try:
            await serve_sandbox(self.config, stop=self._stop, started=started)
        except BaseException as error:
            self._error = error
        finally:
            self._started.set()

    def __enter__(self) -> SandboxEndpoints:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class SandboxProcess:
    """`python -m syncwell.sandbox` as a child process; sync or async context manager.

    The config travels as a JSON file; the child writes its bound ports to a ready file, so
    port 0 works. `stop()` sends SIGTERM (a clean stop); `kill()` sends SIGKILL (a crash).
    """

    def __init__(self, config: SandboxConfig, *, timeout_s: float = 30.0) -> None:
        self.config = config
        self.timeout_s = timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._endpoints: SandboxEndpoints | None = None

    @property
    def endpoints(self) -> SandboxEndpoints:
        if self._endpoints is None:
            raise RuntimeError("the sandbox process is not running")
        return self._endpoints

    @property
    def log(self) -> str:
        """What the child wrote to stdout and stderr so far."""
        if self._folder is None or not (self._folder / "log.txt").exists():
            return ""
        return (self._folder / "log.txt").read_text(errors="replace")

    def launch(self) -> None:
        """Start the child without waiting for it; `poll_ready` says when it listens."""
        self._folder = Path(tempfile.mkdtemp(prefix="syncwell-sandbox-"))
        config_file = self._folder / "config.json"
        config_file.write_text(self.config.model_dump_json())
        command = [sys.executable, "-m", "syncwell.sandbox", "--config", str(config_file)]
        command += ["--ready-file", str(self._folder / "ready.json")]
        with (self._folder / "log.txt").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def poll_ready(self) -> SandboxEndpoints | None:
        """The endpoints once the child listens, else None.

        Raises:
            RuntimeError: when the child exited instead.
        """
        assert self.process is not None and self._folder is not None
        ready = self._folder / "ready.json"
        if ready.exists():
            self._endpoints = SandboxEndpoints(**json.loads(ready.read_text()))
            return self._endpoints
        if self.process.poll() is not None:
            raise RuntimeError(
                f"the sandbox exited with {self.process.returncode}:\n{self.log[-4000:]}"
            )
        return None

    def start(self) -> SandboxEndpoints:
        """Start the child and wait (blocking) until every tool listens."""
        self.launch()
        deadline = time.monotonic() + self.timeout_s
        while (endpoints := self.poll_ready()) is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"the sandbox did not start within {self.timeout_s} s")
            time.sleep(_POLL_S)
        return endpoints

    async def astart(self) -> SandboxEndpoints:
        """Start the child and wait, without blocking the event loop, until it listens."""
        self.launch()
        deadline = time.monotonic() + self.timeout_s
        while (endpoints := self.poll_ready()) is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"the sandbox did not start within {self.timeout_s} s")
            await asyncio.sleep(_POLL_S)
        return endpoints

    def stop(self) -> int | None:
        """SIGTERM, wait for a clean exit (SIGKILL after `timeout_s`); the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int | None:
        """SIGKILL: the sandbox dies mid-flight, as a crashed server does."""
        return self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> int | None:
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(how)
            try:
                code = self.process.wait(self.timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait()
            self.process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._endpoints = None
        return code

    async def astop(self) -> int | None:
        """`stop()` on a worker thread, so the event loop keeps running while the child ends."""
        return await asyncio.to_thread(self.stop)

    def __enter__(self) -> SandboxEndpoints:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxEndpoints:
        return await self.astart()

    async def __aexit__(self, *_: object) -> None:
        await self.astop()
