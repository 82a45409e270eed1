"""The PostgreSQL a CDC benchmark streams from: the machine's when its wal_level is logical,
else a private cluster of the same PostgreSQL binaries with the machine server's settings.

Turning the machine's server to `wal_level = logical` takes a restart (`.ci/run` does it),
which would cut every other program using it; the benchmark never does that. The private
cluster copies what decides a commit's cost (fsync, synchronous_commit, shared_buffers,
wal_buffers, max_wal_size), so its numbers are the machine's, and is removed afterwards.
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

__all__ = ["logical_server", "server_setting"]

BIN = Path("/usr/lib/postgresql/15/bin")
_COPIED = ("fsync", "synchronous_commit", "shared_buffers", "wal_buffers", "max_wal_size")


def server_setting(dsn: str, name: str) -> str | None:
    """A setting of the server at `dsn` (`SHOW name`), or None when it cannot be reached."""
    try:
        with contextlib.closing(psycopg2.connect(dsn, connect_timeout=3)) as connection:
            cursor = connection.cursor()
            cursor.execute(f"SHOW {name}")
            row = cursor.fetchone()
            return None if row is None else str(row[0])
    except psycopg2.Error:
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(*command: str) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@contextlib.contextmanager
def _private_cluster(like: str) -> Iterator[str]:
    """A throwaway cluster with wal_level=logical and `like`'s settings; yields its
    server DSN (database `postgres`)."""
    if not (BIN / "initdb").exists():
        raise SystemExit(f"no wal_level=logical server and no initdb in {BIN} to start one")
    folder = Path(tempfile.mkdtemp(prefix="syncwell-bench-cdc-"))
    data, port = folder / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    initdb = [str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres(*initdb), check=True, capture_output=True)
    copied = {name: server_setting(like, name) for name in _COPIED}
    lines = [f"{name} = '{value}'" for name, value in copied.items() if value is not None]
    lines += [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{folder}'",
        "wal_level = logical",
        "max_replication_slots = 10",
        "max_wal_senders = 10",
    ]
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n".join(lines) + "\n")
    pg_ctl = [str(BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    subprocess.run(_as_postgres(*pg_ctl, "-w", "start"), check=True, capture_output=True)
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 20
        while server_setting(dsn, "wal_level") is None and time.monotonic() < deadline:
            time.sleep(0.2)
        yield dsn
    finally:
        stop = [*pg_ctl, "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(*stop), check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def logical_server(dsn: str) -> Iterator[tuple[str, str]]:
    """A server DSN with wal_level=logical, and which it is (`machine` or `private`)."""
    if server_setting(dsn, "wal_level") == "logical":
        yield dsn, "machine"
        return
    with _private_cluster(dsn) as private:
        yield private, "private"
