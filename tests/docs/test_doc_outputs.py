"""What the docs show `syncwell check` printing is what it prints, run on the docs' own files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from syncwell.demo.workspace import write_workspace
from syncwell.errors import WorkspaceError
from syncwell.sandbox import SandboxEndpoints
from syncwell.workspace import load_workspace
from tests.docs.blocks import Block, blocks_of, find_block
from tests.docs.programs import syncwell_problem
from tests.docs.shell import console_input

_SYNCWELL = Path(sys.executable).parent / "syncwell"
_TICKED = re.compile(r"`(syncwell [^`]*)`")


def _check(folder: Path, env: dict[str, str] | None = None) -> str:
    """`syncwell check` in `folder`, as a reader runs it: both streams, no colours, wide."""
    done = subprocess.run(
        [str(_SYNCWELL), "check", "-w", "syncwell.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})},
    )
    return done.stdout + done.stderr


def _output_lines(block: Block) -> list[str]:
    """A console block's output: its lines that are not commands."""
    return [line for line in block.text.splitlines() if line and not line.startswith("$ ")]


def _exports(block: Block) -> dict[str, str]:
    found = re.findall(r"^export (\w+)=(\S+)$", console_input(block.text), re.MULTILINE)
    return dict(found)


@pytest.mark.parametrize(("workspace", "session"), [(0, 0), (1, 1)])
def test_readme_check_output(workspace: int, session: int, tmp_path: Path) -> None:
    """Each README workspace, checked as the README shows, prints the lines the README shows
    (a part of the output, in order and together)."""
    yaml_block = blocks_of("README.md", "yaml")[workspace]
    console = [b for b in blocks_of("README.md", "console") if "$ syncwell check" in b.text]
    shown = console[session]
    (tmp_path / "syncwell.yaml").write_text(yaml_block.text)
    printed = _check(tmp_path, _exports(shown)).splitlines()
    wanted = _output_lines(shown)
    starts = [i for i, line in enumerate(printed) if line == wanted[0]]
    assert any(printed[i : i + len(wanted)] == wanted for i in starts), (
        f"{shown.where} shows:\n" + "\n".join(wanted) + "\nsyncwell check prints:\n"
        + "\n".join(printed)
    )  # fmt: skip


# The mistakes docs/workspace.md's error sample is about, made in its complete example.
_TYPOS = (
    ("  crm:                                   # an external tool\n    kind: sqlite",
     "  crm:                                   # an external tool\n    kind: sqlit"),
    ("    mode: poll\n    interval: 30s", "    mode: poll\n    intervall: 30s"),
    ("  lead_to_core: [contacts, deals]", "  lead_to_core: [contacts, dealz]"),
)  # fmt: skip


def test_workspace_error_sample(tmp_path: Path) -> None:
    """docs/workspace.md's sample of `syncwell check` errors is, line for line, what check
    prints for its complete example with those three typos: the lines, the [key] tags, the
    words."""
    example = find_block("docs/workspace.md", "version: 1\nname: demo").text
    for right, wrong in _TYPOS:
        assert right in example, f"the complete example no longer has {right!r}"
        example = example.replace(right, wrong)
    (tmp_path / "syncwell.yaml").write_text(example)
    printed = [line for line in _check(tmp_path).splitlines() if line.startswith("syncwell.yaml:")]
    texts = blocks_of("docs/workspace.md", "text")
    (sample,) = [b for b in texts if "[systems.crm.kind]" in b.text]
    assert sample.text.splitlines() == printed, (
        f"{sample.where} shows:\n{sample.text}syncwell check prints:\n" + "\n".join(printed)
    )


def test_missing_workspace_hint_is_a_command_that_parses(tmp_path: Path) -> None:
    """The command a missing workspace's error suggests is one the command line takes (it
    said `syncwell check path/to/syncwell.yaml`: an extra argument)."""
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(tmp_path / "nope.yaml")
    suggested = _TICKED.findall(str(caught.value))
    assert suggested, str(caught.value)
    for command in suggested:
        assert syncwell_problem(command.split()[1:]) is None


def test_complete_example_loads_as_copied(tmp_path: Path) -> None:
    """docs/workspace.md's complete example loads with no variable set: a reader who copies it
    is not stopped by one it does not mention (it needed PGUSER)."""
    example = find_block("docs/workspace.md", "version: 1\nname: demo").text
    (tmp_path / "syncwell.yaml").write_text(example)
    assert load_workspace(tmp_path, env={}).flows


def _words(text: str) -> list[str]:
    """The text as words: a sample wrapped at another width reads the same."""
    return text.split()


def test_tutorial_check_of_the_demo(tmp_path: Path) -> None:
    """Tutorial section 2: its `check` of the demo's workspace prints the map and warnings it
    shows, and with the first `interval` misspelled, the error it shows ([key] tag included)."""
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    demo = tmp_path / ".syncwell-demo"
    demo.mkdir()
    write_workspace(demo, SandboxEndpoints("127.0.0.1", 8101, 8102, 8103))
    command = find_block("docs/tutorial.md", ".venv/bin/syncwell check -w .syncwell-demo/").text
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}

    def typed() -> str:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        return (done.stdout + done.stderr).replace(f"{tmp_path}/", "…/")

    shown = find_block("docs/tutorial.md", "workspace demo (")
    assert _words(typed()) == _words(shown.text), f"{shown.where} shows what check no longer prints"
    file = demo / "syncwell.yaml"
    file.write_text(file.read_text().replace("interval:", "intervall:", 1))
    broken = find_block("docs/tutorial.md", "invalid workspace\n")
    assert _words(typed()) == _words(broken.text), f"{broken.where}: not what check prints"
