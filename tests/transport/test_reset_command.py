"""`syncwell transport status|reset` against the machine's NATS: what waits per flow, a reset
refused while changes wait, and a reset that lets the stream start over with another
partition count (what docs/distributed.md sends the user to do, without a `nats` CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path

import nats
import nats.js.errors
import pytest
from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.errors import TransportError
from syncwell.transport import JetStreamSettings, JetStreamTransport
from syncwell.types import ChangeBatch
from tests.scenarios.crmkit import free_port

runner = CliRunner()


def _workspace(folder: Path, name: str, *, url: str = "nats://127.0.0.1:4222") -> Path:
    path = folder / "syncwell.yaml"
    path.write_text(
        f"name: {name}\n"
        "state: postgresql://postgres@127.0.0.1:5432/test\n"
        "core: core\n"
        f"transport: {{url: '{url}', partitions: 4, ack_wait_s: 7}}\n"
        "systems:\n"
        "  core: {kind: sqlite, path: core.db}\n"
        "  dest: {kind: sqlite, path: dest.db}\n"
        "flows:\n"
        "  rows: {source: core, destination: dest, stream: t, key: id, cursor: at}\n"
        "  quiet: {source: core, destination: dest, stream: q, key: id, cursor: at}\n"
    )
    return path


async def _transport(name: str, partitions: int = 4) -> JetStreamTransport:
    settings = JetStreamSettings(workspace=name, partitions=partitions, ack_wait_s=7)
    return await JetStreamTransport.connect(settings, {"rows": ("id",), "quiet": ("id",)})


async def _publish(name: str, rows: int) -> None:
    """`rows` changes of flow `rows` in the stream, one partition's consumer made (a worker
    that looked once)."""
    transport = await _transport(name)
    try:
        batch = ChangeBatch(("id", "v"), [(i, f"v{i}") for i in range(rows)])
        await transport.publish("rows", batch, "read-1")
        await transport.pending("rows", 0)
    finally:
        await transport.close()


def _flat(output: str) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(output.split())


@pytest.fixture
def name() -> str:
    """A workspace name of its own: its stream collides with no other test's."""
    return f"reset-{uuid.uuid4().hex[:10]}"


async def _delete(name: str) -> None:
    """The test's stream gone, whatever its partition count."""
    client = await nats.connect("nats://127.0.0.1:4222")
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await client.jetstream().delete_stream(f"SYNCWELL_{name}")
    await client.close()


async def test_status_shows_what_waits_per_flow_and_the_consumers(
    tmp_path: Path, name: str
) -> None:
    workspace = _workspace(tmp_path, name)
    await _publish(name, 40)
    try:
        result = await asyncio.to_thread(
            runner.invoke, app, ["transport", "status", "-w", str(workspace), "--json"]
        )
        assert result.exit_code == 0, result.output
        found = json.loads(result.output)
        assert found["stream"] == f"SYNCWELL_{name}" and found["exists"]
        assert found["partitions"] == 4 and found["ack_wait_s"] == [7.0]
        assert found["waiting"] == {"rows": 4, "quiet": 0}  # 40 keys over 4 partitions
        assert [(c["name"], c["waiting"]) for c in found["consumers"]] == [("rows-0", 1)]
        text = await asyncio.to_thread(
            runner.invoke, app, ["transport", "status", "-w", str(workspace)]
        )
        assert text.exit_code == 0 and "4 message(s) waiting" in _flat(text.output)
    finally:
        await _delete(name)


async def test_reset_refuses_while_changes_wait_then_drops_them_when_told(
    tmp_path: Path, name: str
) -> None:
    """Refused with what would be lost; asked to confirm; --drop-waiting --yes deletes, and
    the stream can then be made with another partition count, which was refused before."""
    workspace = _workspace(tmp_path, name)
    await _publish(name, 40)
    try:
        reset = ["transport", "reset", "-w", str(workspace)]
        refused = await asyncio.to_thread(runner.invoke, app, reset)
        assert refused.exit_code == 1
        said = _flat(refused.output)
        assert "4 message(s) not delivered (rows: 4)" in said and "--drop-waiting" in said
        unasked = await asyncio.to_thread(runner.invoke, app, [*reset, "--drop-waiting"])
        assert unasked.exit_code == 1 and "add --yes" in _flat(unasked.output)
        with pytest.raises(TransportError, match="partitions"):
            await _transport(name, partitions=2)  # still the old stream
        done = await asyncio.to_thread(
            runner.invoke, app, [*reset, "--drop-waiting", "--yes", "--json"]
        )
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["deleted"] is True
        assert json.loads(done.output)["dropped"] == 4
        again = await _transport(name, partitions=2)  # a new stream, the new count
        await again.close()
    finally:
        await _delete(name)


async def test_reset_of_an_empty_stream_needs_no_flag(tmp_path: Path, name: str) -> None:
    workspace = _workspace(tmp_path, name)
    await _publish(name, 0)
    try:
        result = await asyncio.to_thread(
            runner.invoke, app, ["transport", "reset", "-w", str(workspace), "--yes"]
        )
        assert result.exit_code == 0, result.output
        assert f"deleted stream SYNCWELL_{name}" in _flat(result.output)
        status = await asyncio.to_thread(
            runner.invoke, app, ["transport", "status", "-w", str(workspace), "--json"]
        )
        assert json.loads(status.output)["exists"] is False
    finally:
        await _delete(name)


def test_nats_out_of_reach_is_one_line(tmp_path: Path, name: str) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    workspace = _workspace(tmp_path, name, url=url)
    for command in (["status"], ["reset", "--yes"]):
        result = runner.invoke(app, ["transport", *command, "-w", str(workspace)])
        assert result.exit_code == 1
        assert f"NATS at {url} cannot be reached" in _flat(result.output)
        assert "Traceback" not in result.output
