"""Running the measured commands: wall time and peak memory of each process.

Peak memory is the kernel's own high-water mark (``ru_maxrss`` from ``wait4`` on that very
child), checked against psutil sampling the resident set every 50 ms while it runs. The CPU
the PostgreSQL server spent meanwhile is measured too: on a small machine the client and the
server share the cores, and who used them explains the wall time.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

__all__ = ["Finished", "run_measured", "run_pipe"]

_POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class Finished:
    """What a measured command did."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    cpu_s: float
    server_cpu_s: float
    stdout: str = ""
    stderr: str = ""


class _RssSampler(threading.Thread):
    """Samples a process's resident set (with its children's) until told to stop."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._done = threading.Event()
        self.peak = 0

    def run(self) -> None:
        try:
            process = psutil.Process(self._pid)
            while not self._done.is_set():
                family = [process, *process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in family))
                self._done.wait(_POLL_S)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            return

    def stop(self) -> None:
        self._done.set()
        self.join()


def _server_cpu() -> float:
    """CPU seconds used so far by the local PostgreSQL server, exited backends included."""
    total = 0.0
    for process in psutil.process_iter(["name", "ppid", "cpu_times"]):
        if process.info["name"] != "postgres" or process.info["cpu_times"] is None:
            continue
        times = process.info["cpu_times"]
        total += times.user + times.system
        parent = process.info["ppid"]
        if parent and psutil.Process(parent).name() != "postgres":  # the postmaster
            total += times.children_user + times.children_system  # its reaped backends
    return total


def _server_cpu_since(before: float) -> float:
    # The postmaster adds a backend's CPU to its own children's once it has reaped it, which
    # happens just after the client disconnects: give it a moment (outside the timed part).
    time.sleep(0.2)
    return _server_cpu() - before


def _reap(process: subprocess.Popen[bytes]) -> tuple[int, int, float]:
    """Wait for the child; return its exit code, peak RSS in bytes and CPU seconds."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports ru_maxrss in kilobytes.
    return process.returncode, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def run_measured(argv: Sequence[str]) -> Finished:
    """Run a command to its end, with its output kept for the caller."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        server_before = _server_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        sampler = _RssSampler(process.pid)
        sampler.start()
        code, peak, cpu = _reap(process)
        seconds = time.perf_counter() - started
        server_s = _server_cpu_since(server_before)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        return Finished(
            seconds,
            max(peak, sampler.peak) / 2**20,
            code,
            cpu,
            server_s,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def run_pipe(producer: Sequence[str], consumer: Sequence[str]) -> Finished:
    """Run ``producer | consumer``; the peak is the sum of both processes' peaks."""
    server_before = _server_cpu()
    started = time.perf_counter()
    left = subprocess.Popen(producer, stdout=subprocess.PIPE)
    right = subprocess.Popen(consumer, stdin=left.stdout, stderr=subprocess.PIPE)
    assert left.stdout is not None and right.stderr is not None
    left.stdout.close()  # the consumer owns the pipe now: it sees EOF when the producer ends
    errors = right.stderr.read().decode(errors="replace")
    left_code, left_peak, left_cpu = _reap(left)
    right_code, right_peak, right_cpu = _reap(right)
    seconds = time.perf_counter() - started
    server_s = _server_cpu_since(server_before)
    right.stderr.close()
    return Finished(
        seconds,
        (left_peak + right_peak) / 2**20,
        left_code or right_code,
        left_cpu + right_cpu,
        server_s,
        stderr=errors,
    )
