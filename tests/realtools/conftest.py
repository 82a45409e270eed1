"""Real open-source tools, installed and started once per test session by tools/realtools.

Each tool is installed by its `install.sh` (cached across runs), started by `start.sh` with
its data in a temporary folder (Parse Server: a new PostgreSQL database), and stopped by
`stop.sh` when the session ends. Outside CI a tool that cannot be installed skips its tests;
in CI (`CI=true`) it fails them, loudly.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PG_DSN

SCRIPTS = Path(__file__).resolve().parents[2] / "tools" / "realtools"
TIMINGS: dict[str, float] = {}
"""Seconds each tool took to install and to start, for the session's summary."""


@dataclass(frozen=True)
class ParseServer:
    """A running Parse Server: its REST root and keys."""

    url: str
    app_id: str
    master_key: str
    webhook_key: str


@dataclass(frozen=True)
class Mailman:
    """A running Mailman 3 REST API: its root (…/3.1) and the admin's credentials."""

    url: str
    user: str
    password: str


@dataclass(frozen=True)
class RequestTracker:
    """A running Request Tracker 5: its REST 2.0 root and the root user's credentials."""

    url: str
    user: str
    password: str


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _run(tool: str, script: str, env: dict[str, str], *, step: str) -> str:
    started = time.monotonic()
    done = subprocess.run(
        [str(SCRIPTS / tool / script)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    TIMINGS[f"{tool} {step}"] = time.monotonic() - started
    if done.returncode != 0:
        message = f"{tool}: {script} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        if _in_ci() or step != "install":
            pytest.fail(message, pytrace=False)
        pytest.skip(f"{message}\n(not in CI: skipped)")
    return done.stdout.strip()


def _free_port(preferred: int) -> int:
    """The first port from `preferred` up that nothing on 127.0.0.1 listens on."""
    for port in range(preferred, preferred + 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {preferred}..{preferred + 49}")


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_DSN, "-qAtc", sql], check=True, capture_output=True)


@pytest.fixture(scope="session")
def parse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParseServer]:
    """Parse Server (npm) on its own PostgreSQL database, for the whole session."""
    _run("parse-server", "install.sh", {}, step="install")
    database = f"sw_parse_{uuid.uuid4().hex[:10]}"
    _psql(f"CREATE DATABASE {database}")
    port = _free_port(18701)
    env = {
        "DATA_DIR": str(tmp_path_factory.mktemp("parse-server")),
        "PORT": str(port),
        "DATABASE_URI": PG_DSN.rsplit("/", 1)[0] + f"/{database}",
        "APP_ID": "syncwell-test",
        "MASTER_KEY": "syncwell-master-key",
        "WEBHOOK_KEY": "syncwell-webhook-key",
    }
    try:
        _run("parse-server", "start.sh", env, step="start")
        yield ParseServer(
            f"http://127.0.0.1:{port}/parse", env["APP_ID"], env["MASTER_KEY"], env["WEBHOOK_KEY"]
        )
    finally:
        subprocess.run([str(SCRIPTS / "parse-server" / "stop.sh")], env={**os.environ, **env})
        _psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture(scope="session")
def mailman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mailman]:
    """Mailman 3 core's REST API (PyPI, its own virtualenv), for the whole session."""
    _run("mailman", "install.sh", {}, step="install")
    port = _free_port(18711)
    env = {
        "DATA_DIR": str(tmp_path_factory.mktemp("mailman")),
        "PORT": str(port),
        "REST_USER": "restadmin",
        "REST_PASSWORD": "syncwell-rest-pass",
    }
    try:
        _run("mailman", "start.sh", env, step="start")
        yield Mailman(f"http://127.0.0.1:{port}/3.1", env["REST_USER"], env["REST_PASSWORD"])
    finally:
        subprocess.run([str(SCRIPTS / "mailman" / "stop.sh")], env={**os.environ, **env})


@pytest.fixture(scope="session")
def request_tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RequestTracker]:
    """Request Tracker 5 (Debian) on a new SQLite database, for the whole session."""
    _run("request-tracker", "install.sh", {}, step="install")
    port = _free_port(18721)
    env = {"DATA_DIR": str(tmp_path_factory.mktemp("request-tracker")), "PORT": str(port)}
    try:
        _run("request-tracker", "start.sh", env, step="start")
        yield RequestTracker(f"http://127.0.0.1:{port}/REST/2.0", "root", "password")
    finally:
        subprocess.run([str(SCRIPTS / "request-tracker" / "stop.sh")], env={**os.environ, **env})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how long each real tool took to install and start (docs/real-tools.md)."""
    if TIMINGS:
        terminalreporter.write_sep("-", "real tools")
        for step, seconds in sorted(TIMINGS.items()):
            terminalreporter.write_line(f"{step}: {seconds:.1f} s")
