"""`syncwell --help` and each command's help: one style, flags shown as flags, and the
commands a newcomer starts with listed first."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from syncwell.cli import app

runner = CliRunner()


def _commands() -> list[tuple[str, ...]]:
    """Every command and group, as typed after `syncwell`."""
    found: list[tuple[str, ...]] = [()]

    def walk(group: TyperGroup, prefix: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            found.append((*prefix, name))
            if isinstance(command, TyperGroup):
                walk(command, (*prefix, name))

    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    walk(root, ())
    return found


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "syncwell")
def test_help_shows_flags_without_a_bool_type(command: tuple[str, ...]) -> None:
    """`--json`, `--once`, `--help`...: a flag's help has no `<bool>` after it."""
    result = runner.invoke(app, [*command, "--help"], prog_name="syncwell")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert f"Usage: syncwell {' '.join(command)}".rstrip() in result.output


def test_the_command_list_starts_with_the_demo_and_ends_with_development() -> None:
    """The top help lists the commands by panel, Start first (demo, init, check...), and
    `dev` last, in a Development panel (it came first before)."""
    output = runner.invoke(app, ["--help"], prog_name="syncwell").output
    panels = ("Start", "Run", "Inspect", "Repair", "Admin", "Development")
    places = [output.index(f"─ {panel} ") for panel in panels]
    assert places == sorted(places)
    names = [line.split()[1] for line in output.splitlines() if line.startswith("│ ") and
             len(line.split()) > 1 and line.split()[1].isalpha()]  # fmt: skip
    assert names.index("demo") < names.index("run") < names.index("status") < names.index("dev")
    assert "─ Commands " not in output  # every command sits in a panel of its own kind


def test_a_commands_summary_is_one_paragraph() -> None:
    """A docstring's line breaks no longer cut the command list mid-sentence: each command's
    paragraphs are one line each, wrapped by the help, not by the source."""
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    for name, command in root.commands.items():
        assert command.help is not None, name
        for paragraph in command.help.split("\n\n"):
            assert "\n" not in paragraph, (name, paragraph)


def test_sandbox_help_is_in_the_style_of_the_rest() -> None:
    """`syncwell sandbox --help` is typer's, like every command, with the fault knobs in a
    panel of their own (before: argparse's `usage: python -m syncwell.sandbox`)."""
    output = runner.invoke(app, ["sandbox", "--help"], prog_name="syncwell").output
    assert "Usage: syncwell sandbox [OPTIONS]" in output and "usage:" not in output
    assert "─ Faults" in output and "--error-rate" in output and "--crm-port" in output


def test_python_m_syncwell_sandbox_is_the_same_command() -> None:
    """`python -m syncwell.sandbox` still works, with the same flags, and refuses a wrong one
    with exit 2."""
    from syncwell.sandbox.command import parse_flags  # what tests and tools read flags with

    done = subprocess.run(
        [sys.executable, "-m", "syncwell.sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--webhook-shape" in done.stdout
    assert "<bool>" not in done.stdout
    flags = parse_flags(["--crm-port", "0", "--outage", "300:20", "--reorder-webhooks"])
    assert (flags.crm_port, flags.outage, flags.reorder_webhooks) == (0, ["300:20"], True)
    with pytest.raises(SystemExit) as refused:
        parse_flags(["--no-such-flag"])
    assert refused.value.code == 2
