"""The facts of the machine a result was measured on, printed with every result."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the dev deps

from _dataset import Postgres

__all__ = ["machine_facts"]


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(postgres: Postgres) -> dict[str, str | int | float]:
    """CPU, cores, memory, load, and the versions of everything on the measured path."""
    server = postgres.run("SELECT version();")
    settings = postgres.run(
        "SELECT string_agg(name || '=' || setting || coalesce(unit, ''), ' ' ORDER BY name) "
        "FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', "
        "'max_wal_size', 'wal_level');"
    )
    return {
        "cpu": _cpu_model(),
        "cores_logical": os.cpu_count() or 0,
        "cores_physical": psutil.cpu_count(logical=False) or 0,
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
        "os": platform.platform(),
        "postgresql": server,
        "postgresql_settings": settings,
        "python": sys.version.split()[0],
        "syncwell": _version("syncwell"),
        "asyncpg": _version("asyncpg"),
        "msgpack": _version("msgpack"),
    }
