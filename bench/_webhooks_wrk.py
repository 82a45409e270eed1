"""The flood: wrk, closed loop, sending pre-signed webhooks as fast as a server answers them.

wrk (C, an epoll loop per thread) costs far less CPU per request than either Python server,
so on a shared machine the servers, not the load generator, set the rate. Its Lua script reads
a file of signed requests, one per line; thread k of n takes lines k, k+n, k+2n..., so no two
threads send the same event id. A thread that runs out starts its lines again, and says so:
those repeats would be answered ``duplicate``, so such a run is not counted.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from _processes import run_measured
from _webhooks_requests import HOOK_PATH, SignedRequest

__all__ = ["Flood", "WrkSettings", "flood", "write_request_file", "wrk_command"]

_SCRIPT = r"""
-- Sends each pre-signed webhook of a file once; see bench/_webhooks_wrk.py.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, count, target = args[1], tonumber(args[2]), args[3]
  prepared, available, sent = {}, 0, 0
  local line_number = 0
  for line in io.lines(path) do
    if line_number % count == id then
      local event, stamp, signature, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)$")
      available = available + 1
      prepared[available] = wrk.format("POST", target, {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = event,
        ["webhook-timestamp"] = stamp,
        ["webhook-signature"] = signature,
      }, body)
    end
    line_number = line_number + 1
  end
end

function request()
  sent = sent + 1
  return prepared[(sent - 1) % available + 1]
end

function done(summary, latency, _)
  local sent_total, repeated = 0, 0
  for _, thread in ipairs(threads) do
    local thread_sent, thread_available = thread:get("sent"), thread:get("available")
    sent_total = sent_total + thread_sent
    repeated = repeated + math.max(0, thread_sent - thread_available)
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"duration_us": %d, "responses": %d, "bytes": %d, "sent": %d, "repeated": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "non_2xx": %d, ' ..
    '"timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.duration, summary.requests, summary.bytes, sent_total, repeated,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True, slots=True)
class WrkSettings:
    """The same for both servers."""

    threads: int
    connections: int
    duration_s: int
    timeout_s: int = 5


@dataclass(frozen=True, slots=True)
class Flood:
    """What wrk saw: responses in its duration, errors, and latency under full load.

    ``non_2xx`` is wrk's count of answers with status 400 or above. ``sent`` counts requests
    started, so it includes the ones still in flight when wrk stopped.
    """

    duration_s: float
    responses: int
    sent: int
    repeated: int
    non_2xx: int
    socket_errors: int
    timeouts: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    wrk_cpu_s: float

    @property
    def ok(self) -> int:
        """Answers with a status under 400 (all 200 here, checked against the store)."""
        return self.responses - self.non_2xx

    @property
    def rate(self) -> float:
        """Requests answered without error, per second."""
        return self.ok / self.duration_s

    def as_dict(self) -> dict[str, float | int]:
        return {
            "duration_s": round(self.duration_s, 3),
            "responses": self.responses,
            "ok": self.ok,
            "per_s": round(self.rate, 1),
            "sent": self.sent,
            "repeated": self.repeated,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
            "timeouts": self.timeouts,
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "wrk_cpu_s": round(self.wrk_cpu_s, 2),
        }


def wrk_command() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit(
            "wrk is not installed; it is the load generator of this benchmark. "
            "Install it with: sudo apt-get install -y wrk"
        )
    return found


def write_request_file(path: Path, requests: Iterable[SignedRequest]) -> int:
    """One request a line: id, timestamp, signature and body, tab-separated (JSON as
    `json.dumps` writes it holds no raw tab or newline). Return how many were written."""
    written = 0
    with path.open("w", encoding="utf-8") as out:
        for request in requests:
            headers = request.headers
            fields = (
                headers["webhook-id"],
                headers["webhook-timestamp"],
                headers["webhook-signature"],
                request.body.decode(),
            )
            out.write("\t".join(fields) + "\n")
            written += 1
    return written


def flood(url: str, requests_file: Path, settings: WrkSettings, folder: Path) -> Flood:
    """Run wrk against `url` with the requests of `requests_file`."""
    script = folder / "webhooks.lua"
    script.write_text(_SCRIPT, encoding="utf-8")
    run = run_measured(
        [
            wrk_command(),
            f"--threads={settings.threads}",
            f"--connections={settings.connections}",
            f"--duration={settings.duration_s}s",
            f"--timeout={settings.timeout_s}s",
            f"--script={script}",
            url,
            "--",
            str(requests_file),
            str(settings.threads),
            HOOK_PATH,
        ]
    )
    found = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode != 0 or not found:
        raise SystemExit(f"wrk failed ({run.returncode}):\n{run.stderr}\n{run.stdout}")
    result = json.loads(found[-1].removeprefix("RESULT "))
    return Flood(
        duration_s=result["duration_us"] / 1e6,
        responses=result["responses"],
        sent=result["sent"],
        repeated=result["repeated"],
        non_2xx=result["non_2xx"],
        socket_errors=result["connect_errors"] + result["read_errors"] + result["write_errors"],
        timeouts=result["timeouts"],
        p50_ms=result["p50_us"] / 1e3,
        p99_ms=result["p99_us"] / 1e3,
        max_ms=result["max_us"] / 1e3,
        wrk_cpu_s=run.cpu_s,
    )
