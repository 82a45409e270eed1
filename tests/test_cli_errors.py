"""Expected failures of the `syncwell` command are one line with the fix, never a traceback:
a port in use, a workspace file that is not there, a state store that does not answer, a flow
the workspace does not have, a field a section does not have."""

from __future__ import annotations

import errno
import pickle
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from syncwell.api.server import ListenError, bind_socket
from syncwell.cli import app

runner = CliRunner()
_LOGGED = re.compile(r"^\d{4}-\d\d-\d\dT")
SYNCWELL = [str(Path(sys.executable).parent / "syncwell")]  # the console script, as typed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on, as another program would."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A valid SQLite-to-SQLite workspace with one flow, `contacts`."""
    for name in ("a.db", "b.db"):
        with sqlite3.connect(tmp_path / name) as db:
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)")
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "systems:\n  a: {kind: sqlite, path: a.db}\n  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  contacts: {source: a, destination: b, stream: t, key: id, cursor: at}\n"
    )
    return path


def _lines(text: str) -> list[str]:
    """The lines of `text` but blank ones and log lines (`run` logs its start off a terminal)."""
    return [line for line in text.splitlines() if line.strip() and not _LOGGED.match(line)]


def _one_line(text: str) -> str:
    """The only line of `text`, after checking it holds no traceback."""
    assert "Traceback" not in text, text
    (line,) = _lines(text)
    return line


# --- a port in use ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "-w", "{workspace}", "--port", "{port}"],
        ["run", "-w", "{workspace}", "--serve", "--port", "{port}"],
        ["demo", "--folder", "{folder}", "--duration", "1", "--free-ports", "--port", "{port}"],
    ],
    ids=["serve", "run --serve", "demo"],
)
def test_a_busy_port_is_one_line_naming_the_port_and_the_option(
    command: list[str], busy_port: int, workspace: Path, tmp_path: Path
) -> None:
    """A real process on a port something listens on: exit 1, one line on stderr with the
    port and `--port N`, no traceback, and no "serving" before it (67-95 lines before)."""
    values = {"workspace": str(workspace), "port": str(busy_port), "folder": str(tmp_path / "d")}
    args = [part.format(**values) for part in command]
    done = subprocess.run([*SYNCWELL, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    line = _one_line(done.stderr)
    assert f"port {busy_port} on 127.0.0.1 is in use" in line
    assert line.endswith("pick another with --port N")
    assert "serving" not in done.stdout and "dashboard" not in done.stdout


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_serve_says_serving_once_the_url_answers(host: str, workspace: Path) -> None:
    """`serve --port 0`: its "serving" line names the port it took (it said :0) and, IPv6
    bracketed, a URL that answers as soon as the line is out."""
    args = ["serve", "-w", str(workspace), "--host", host, "--port", "0"]
    with subprocess.Popen([*SYNCWELL, *args], stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            url = re.fullmatch(r"serving (http://\S+)/api/v1 \(Ctrl-C stops\)\n", line)
            assert url is not None, line
            assert not url.group(1).endswith(":0")
            assert httpx.get(f"{url.group(1)}/healthz", timeout=5).json() == {"status": "ok"}
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=30) == 0


def test_the_demo_names_free_ports_when_a_tools_port_is_taken(tmp_path: Path) -> None:
    """The demo's tools listen on 8101-8103: one taken is one line pointing at --free-ports
    (before: the tools' process died and the demo printed its traceback)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8102))
        holder.listen()
    except OSError:
        pass  # already taken by another program: just as good
    try:
        folder = str(tmp_path / "demo")
        args = ["demo", "--folder", folder, "--duration", "1", "--port", str(_free_port())]
        result = runner.invoke(app, args)
    finally:
        holder.close()
    assert result.exit_code == 1, result.output
    line = _one_line(result.output)
    assert line.startswith("port 810") and "--free-ports" in line


@pytest.mark.parametrize(
    ("command", "fix"),
    [
        (["dev", "--port", "{port}", "--folder", "{folder}"], "pick another with --port N"),
        (["sandbox", "--crm-port", "{port}"], "--crm-port N (0 picks a free one)"),
    ],
    ids=["dev", "sandbox"],
)
def test_dev_and_sandbox_name_their_own_port_options(
    command: list[str], fix: str, busy_port: int, tmp_path: Path
) -> None:
    """`dev --port` and `sandbox --crm-port` on a busy port: one line naming that option
    (before: dev printed nats-server's 24-line banner and a fatal line). A process of its own:
    `dev` execs the server in place of the process that runs it."""
    args = [part.format(port=busy_port, folder=tmp_path / "nats") for part in command]
    done = subprocess.run([*SYNCWELL, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _one_line(done.stdout + done.stderr).endswith(fix)


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "70000"],
        ["run", "--serve", "--port", "70000"],
        ["worker", "--port", "70000"],
        ["demo", "--port", "70000"],
        ["dev", "--port", "70000"],
        ["sandbox", "--crm-port", "70000"],
    ],
    ids=" ".join,
)
def test_a_port_past_65535_is_refused_as_a_usage_error(command: list[str]) -> None:
    """A port out of range is refused by the option, exit 2, before anything starts (before:
    an OverflowError traceback from bind())."""
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "65535" in result.output


def test_a_listen_error_keeps_its_fields_across_a_pickle() -> None:
    """ListenError crosses processes like every syncwell error: host, port, errno, reason."""
    with pytest.raises(ListenError) as caught:
        bind_socket("127.0.0.1", 70000)
    again = pickle.loads(pickle.dumps(caught.value))
    assert (again.host, again.port, again.errno, again.reason) == (
        "127.0.0.1",
        70000,
        errno.EINVAL,
        "a port is 0 to 65535",
    )
    assert str(again) == str(caught.value) and not again.in_use


def test_an_address_not_of_this_machine_points_at_host(workspace: Path) -> None:
    """`--host` with an address no interface has: one line pointing at --host, not --port."""
    args = ["serve", "-w", str(workspace), "--host", "192.0.2.1", "--port", str(_free_port())]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    line = _one_line(result.output)
    assert line.startswith("cannot listen on 192.0.2.1:")
    assert line.endswith("give --host an address of this machine (127.0.0.1, 0.0.0.0)")


def test_a_map_to_a_folder_that_is_not_there_is_one_line(workspace: Path, tmp_path: Path) -> None:
    """`map -o` into a missing folder: exit 1, one line (before: a FileNotFoundError trace)."""
    target = tmp_path / "nowhere" / "map.svg"
    result = runner.invoke(app, ["map", "-w", str(workspace), "-o", str(target)])
    assert result.exit_code == 1, result.output
    assert (
        _one_line(result.output) == f"cannot write the map to {target}: No such file or directory"
    )


# --- a missing workspace ----------------------------------------------------------------------

# What each command needs besides -w to get as far as reading the workspace.
_REQUIRED_ARGS = {
    ("dlq", "show"): ["1"],
    ("dlq", "replay"): ["1"],
    ("dlq", "discard"): ["1"],
    ("token", "create"): ["--role", "viewer"],
    ("token", "revoke"): ["1"],
    ("resync",): ["contacts"],
    ("cdc", "drop"): ["contacts"],
    ("cdc", "reset"): ["contacts"],
}


def _workspace_commands() -> list[tuple[str, ...]]:
    """Every command that reads a workspace named by -w (SYNCWELL_WORKSPACE)."""
    found: list[tuple[str, ...]] = []

    def walk(group: TyperGroup, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, TyperGroup):
                walk(command, (*prefix, name))
            elif any(
                isinstance(p, TyperOption) and p.envvar == "SYNCWELL_WORKSPACE"
                for p in command.params
            ):
                found.append((*prefix, name))

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    walk(root, ())
    return found


@pytest.mark.parametrize("command", _workspace_commands(), ids=" ".join)
def test_a_missing_workspace_is_one_line_with_the_fix(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    """Each command with -w, given a file that is not there: exit 2, one line saying how to
    name a workspace or start one (before: a `syncwell check path` hint that did not parse)."""
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, [*command, *_REQUIRED_ARGS.get(command, []), "-w", str(missing)])
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert line.startswith(f"no workspace file {missing}: name yours with -w PATH")
    assert "`syncwell init`" in line


# --- a state store that does not answer -------------------------------------------------------


@pytest.fixture
def closed_store(workspace: Path) -> Path:
    """The workspace with its state on a PostgreSQL port nothing listens on."""
    closed = workspace.with_name("closed.yaml")
    url = f"postgresql://syncwell:secret@127.0.0.1:{_free_port()}/state"
    closed.write_text(f"state: {url}\n" + workspace.read_text())
    return closed


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["dlq", "list"],
        ["incidents"],
        ["constraint"],
        ["map"],
        ["token", "list"],
        ["run", "--once"],
        ["serve", "--port", "0"],
    ],
    ids=" ".join,
)
def test_a_closed_state_store_is_one_line_with_the_fix(
    command: list[str], closed_store: Path
) -> None:
    """A state URL to a closed port: exit 1, one line naming the store (password hidden),
    that it does not answer, and the fix; `serve` says so before serving (before: it served,
    and every page failed)."""
    result = runner.invoke(app, [*command, "-w", str(closed_store)])
    assert result.exit_code == 1, result.output
    line = _one_line(result.output)
    assert line.startswith("state store postgresql://syncwell:***@127.0.0.1:")
    assert "does not answer" in line and "secret" not in line
    assert line.endswith(
        f"start its database, or point `state:` in {closed_store} at one that runs"
    )


def test_a_store_that_refuses_says_what_the_database_said(workspace: Path) -> None:
    """The machine's PostgreSQL, a role it does not have: one line with the server's own
    words and the fix, without SQLAlchemy's class name and its second line of web address."""
    refused = workspace.with_name("refused.yaml")
    url = "postgresql://no_such_role_here:secret@127.0.0.1:5432/test"
    refused.write_text(f"state: {url}\n" + workspace.read_text())
    result = runner.invoke(app, ["status", "-w", str(refused)])
    assert result.exit_code == 1, result.output
    assert _one_line(result.output) == (
        "state store postgresql://no_such_role_here:***@127.0.0.1:5432/test: role "
        f'"no_such_role_here" does not exist; check `state:` in {refused}'
    )


def test_a_closed_system_database_fails_its_probe_without_a_traceback(workspace: Path) -> None:
    """`probe` with a system's DSN on a closed port: the check fails (exit 1), in its table."""
    down = workspace.with_name("down.yaml")
    down.write_text(
        workspace.read_text().replace(
            "a: {kind: sqlite, path: a.db}",
            f"a: {{kind: postgres, dsn: 'postgresql://x@127.0.0.1:{_free_port()}/x'}}",
        )
    )
    result = runner.invoke(app, ["probe", "-w", str(down)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "fail" in result.output


# --- names the workspace does not have --------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["dlq", "list", "--flow", "contcts"],
        ["plan", "--flow", "contcts"],
        ["resync", "contcts"],
        ["tables", "--flow", "contcts"],
        ["constraint", "--what-if", "contcts.interval=1m"],
    ],
    ids=["dlq list", "plan", "resync", "tables", "constraint --what-if"],
)
def test_an_unknown_flow_is_an_error_with_did_you_mean(command: list[str], workspace: Path) -> None:
    """A flow name the workspace does not have: exit 2 with the close name and the known ones
    (before: `dlq list --flow` printed an empty table and exited 0)."""
    result = runner.invoke(app, [*command, "-w", str(workspace)])
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert line.startswith("no flow 'contcts' (")
    assert line.endswith("did you mean 'contacts'? The workspace's flows: contacts")


def test_a_name_nothing_is_close_to_lists_the_known_ones(workspace: Path) -> None:
    """No close name: the line lists the workspace's flows instead."""
    result = runner.invoke(app, ["dlq", "list", "--flow", "zzz", "-w", str(workspace)])
    assert result.exit_code == 2
    assert _one_line(result.output) == "no flow 'zzz' (--flow): the workspace's flows are contacts"


def test_an_unknown_field_in_an_http_stream_lists_the_fields(tmp_path: Path) -> None:
    """A stream of an http system with a field it does not have: the error lists its fields
    (before: "the fields here are: " and nothing)."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(
        "systems:\n"
        "  api:\n    kind: http\n    base_url: http://127.0.0.1:9\n"
        "    streams:\n      things:\n        colour: red\n"
        "  b: {kind: sqlite, path: b.db}\n"
        "flows:\n  f: {source: api, destination: b, stream: things, key: id}\n"
    )
    result = runner.invoke(app, ["check", "-w", str(path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "unknown field 'colour'; the fields here are: read, write" in text


def test_the_demo_on_port_0_takes_a_free_port_before_the_crm_is_subscribed(
    tmp_path: Path,
) -> None:
    """`syncwell demo --port 0` chooses its API's port before the tools start, so the CRM's
    webhooks and the printed addresses name a real port, not ":0"."""
    from syncwell.cli.running import _claim_demo_ports

    port = _claim_demo_ports(tmp_path, 0, free_ports=True)
    assert 0 < port < 65536
    bind_socket("127.0.0.1", port).close()  # and it is free to listen on
