"""The demo's closing lines name a `syncwell` the user's shell can run as printed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from syncwell.demo.next_steps import next_steps, syncwell_command


@pytest.fixture
def venv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose `.venv/bin` holds the interpreter and the console script."""
    bin_dir = tmp_path / "project" / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "syncwell"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path / "project"


def test_a_venv_off_path_is_named_by_its_path_from_the_current_folder(venv: Path) -> None:
    assert syncwell_command(venv) == ".venv/bin/syncwell"


def test_a_venv_on_path_is_plain_syncwell(venv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{venv / '.venv' / 'bin'}:/usr/bin")
    assert syncwell_command(venv) == "syncwell"


def test_another_syncwell_first_on_path_is_not_taken_for_this_one(
    venv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "syncwell").write_text("#!/bin/sh\n")
    (other / "syncwell").chmod(0o755)
    monkeypatch.setenv("PATH", f"{other}:/usr/bin")
    assert syncwell_command(venv) == ".venv/bin/syncwell"


def test_from_outside_the_project_the_path_is_absolute(venv: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert syncwell_command(elsewhere) == str(venv / ".venv" / "bin" / "syncwell")


def test_from_the_venvs_own_bin_the_command_still_has_a_slash(venv: Path) -> None:
    assert syncwell_command(venv / ".venv" / "bin") == "./syncwell"


def test_every_next_step_is_a_whole_command_on_its_own_line() -> None:
    lines = next_steps(
        Path(".syncwell-demo/syncwell.yaml"),
        Path(".syncwell-demo"),
        Path(".syncwell-demo/dashboard-token"),
        8100,
        ".venv/bin/syncwell",
    )
    assert "source .venv/bin/activate" in "".join(lines)
    assert "  then http://127.0.0.1:8100/, the token in .syncwell-demo/dashboard-token" in lines
    commands = [line.strip() for line in lines if line.startswith("  .venv/bin/syncwell ")]
    assert commands == [
        ".venv/bin/syncwell serve -w .syncwell-demo/syncwell.yaml --port 8100",
        ".venv/bin/syncwell map -w .syncwell-demo/syncwell.yaml",
        ".venv/bin/syncwell constraint --what-if volume=2x -w .syncwell-demo/syncwell.yaml",
        ".venv/bin/syncwell dlq list -w .syncwell-demo/syncwell.yaml",
        ".venv/bin/syncwell demo --folder .syncwell-demo",
    ]


def test_the_next_steps_fit_80_columns_but_for_the_commands() -> None:
    """Only a command may be longer (it stays whole on its line, to copy)."""
    lines = next_steps(
        Path(".syncwell-demo/syncwell.yaml"),
        Path(".syncwell-demo"),
        Path(".syncwell-demo/dashboard-token"),
        8100,
        ".venv/bin/syncwell",
    )
    assert [line for line in lines if len(line) > 80 and "/bin/syncwell " not in line] == []
