"""A PostgreSQL with `wal_level=logical` for the CDC tests: which one, and starting one.

In order: `SYNCWELL_TEST_CDC_PG` when set; the machine's PostgreSQL (`SYNCWELL_TEST_PG`) when
its wal_level is logical (`.ci/run` makes it so); else a private cluster this module starts
with `initdb` as the `postgres` user, on a free port, trust auth, removed at the end. The
machine's server is never reconfigured here: other tests share it while these run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from tests.conftest import PG_DSN

BIN = Path("/usr/lib/postgresql/15/bin")


def wal_level(dsn: str) -> str | None:
    """The server's wal_level, or None when it cannot be reached."""
    try:
        with contextlib.closing(psycopg2.connect(dsn, connect_timeout=3)) as connection:
            cursor = connection.cursor()
            cursor.execute("SHOW wal_level")
            row = cursor.fetchone()
            return None if row is None else str(row[0])
    except psycopg2.Error:
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    """Run as the `postgres` user when this process is root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


_DATA: dict[str, Path] = {}
"""The data folder of each private cluster running, by DSN."""


def restart(dsn: str) -> None:
    """Restart the private cluster at `dsn` (fast: its connections are ended)."""
    data = _DATA[dsn]
    subprocess.run(
        _as_postgres(
            str(BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(data.parent / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        ),
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def private_cluster() -> Iterator[str]:
    """A throwaway cluster with wal_level=logical; yields its DSN (database `test`)."""
    if not (BIN / "initdb").exists():
        raise RuntimeError(f"no initdb in {BIN}")
    folder = Path(tempfile.mkdtemp(prefix="syncwell-cdc-pg-"))
    data, port = folder / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    subprocess.run(
        _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"),
        check=True,
        capture_output=True,
    )
    settings = (
        f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
        "wal_level = logical\nmax_replication_slots = 40\nmax_wal_senders = 40\n"
        # fsync off for speed; synchronous_commit stays on, so a commit is in the stream
        # as soon as it returns (off, it may reach the walsender 0.6 s later).
        "fsync = off\nshared_buffers = 32MB\n"
    )
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(settings)
    log = folder / "log"
    subprocess.run(
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "start"),
        check=True,
        capture_output=True,
    )
    try:
        dsn = f"postgresql://postgres@127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while wal_level(f"{dsn}/postgres") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        with contextlib.closing(psycopg2.connect(f"{dsn}/postgres")) as connection:
            connection.autocommit = True
            connection.cursor().execute("CREATE DATABASE test")
        _DATA[f"{dsn}/test"] = data
        yield f"{dsn}/test"
    finally:
        _DATA.pop(f"{dsn}/test", None)
        subprocess.run(
            _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def logical_postgres() -> Iterator[str]:
    """The DSN of a PostgreSQL with wal_level=logical, by the order in the module docstring."""
    named = os.environ.get("SYNCWELL_TEST_CDC_PG")
    if named:
        yield named
    elif wal_level(PG_DSN) == "logical":
        yield PG_DSN
    else:
        with private_cluster() as dsn:
            yield dsn
