"""`syncwell run` as a child process, started and waited for until it says it is ready."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

SYNCWELL = str(Path(sys.executable).parent / "syncwell")


async def start_run(workspace: Path, port: int) -> asyncio.subprocess.Process:
    """`syncwell run -w workspace --port port`, once its /readyz answers 200 (30 s at most)."""
    process = await asyncio.create_subprocess_exec(
        SYNCWELL, "run", "-w", str(workspace), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    async with httpx.AsyncClient() as client, asyncio.timeout(30):
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return process
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
