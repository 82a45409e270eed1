"""Every fenced block of README.md and docs/ is checked, or marked as shown on purpose.

How a block is checked, by the language on its fence:

- `yaml`: loaded by syncwell's own loader. A workspace, or sections of one, is loaded over a
  minimal workspace; a part of a section (`auth:`, `pagination:`, a webhooks setting) is put
  where tests/docs/workspaces.py's PLACES says; a block listing alternatives (the same key
  again) is loaded one alternative at a time. `${VAR}`s get a value of their shape.
- `sh`, `console` (its `$ ` lines): each command is read as the shell reads it; a `syncwell`
  command goes through the real command line without running (an unknown option or an extra
  argument fails), and so do `python -m syncwell.sandbox`, `make` targets, bench scripts'
  flags and `python -c` code. A block with a command that cannot be checked that way (curl,
  psql, sqlite3) must be run by a test (blocks.ELSEWHERE) or be marked.
- `json`: parses (one value, or one value after another as JSON lines).
- `python`: compiles (top-level `await` allowed), and what it imports from syncwell exists.
- `text` and others: compared with real output by a test (blocks.ELSEWHERE), or marked.

The mark: ```` ```yaml illustrative ```` — GitHub renders the first word as the language and
ignores the rest. Use it for what is shown on purpose and not checked: a run's output,
elisions (`...`), other tools' formats, diagrams. An unmarked block nothing can check fails,
saying how to mark it.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest
import yaml

from syncwell.workspace import parse_workspace
from tests.docs.blocks import (
    ELSEWHERE,
    HOW_TO_MARK,
    ILLUSTRATIVE,
    Block,
    all_blocks,
    checked_elsewhere,
    find_block,
)
from tests.docs.programs import SYNCWELL, NotCheckableError, problem_of, syncwell_problem
from tests.docs.shell import commands, console_input
from tests.docs.workspaces import (
    documents_of,
    env_for,
    is_whole,
    load_block_workspace,
    workspace_of,
)

_SHELL = frozenset({"sh", "bash", "shell", "console"})
_YAML = frozenset({"yaml", "yml"})


@pytest.mark.parametrize("block", all_blocks(), ids=lambda b: b.where)
def test_block(block: Block, tmp_path: Path) -> None:
    """The block is what it says: valid YAML for syncwell, commands that parse, JSON that
    loads, Python that compiles; or another test covers it. A block marked illustrative is
    still held to what any reader would copy from it: its YAML parses, and its `syncwell`
    commands are ones the command line takes."""
    if block.illustrative:
        _check_illustrative(block)
        return
    ran = checked_elsewhere(block) is not None
    if ran and block.lang not in _SHELL:
        return
    if block.lang in _YAML:
        _check_yaml(block, tmp_path)
    elif block.lang in _SHELL:
        _check_shell(block, ran=ran)
    elif block.lang == "json":
        _check_json(block)
    elif block.lang == "python":
        _check_python(block)
    else:
        pytest.fail(f"{block.where}: a `{block.lang or 'unlabelled'}` block: {HOW_TO_MARK}")


def _check_illustrative(block: Block) -> None:
    if block.lang in _YAML:
        list(yaml.safe_load_all(block.text))
    elif block.lang in _SHELL:
        text = console_input(block.text) if block.lang == "console" else block.text
        for command in commands(text):
            if command.words[0] in SYNCWELL:
                problem = syncwell_problem(command.words[1:])
                assert problem is None, f"{block.where}: {problem}"


def _check_yaml(block: Block, root: Path) -> None:
    for text, data in documents_of(block):
        if is_whole(block, data):  # as written: nothing made up could hide a mistake
            parse_workspace(text, block.where, root, env=env_for(text))
            continue
        whole = workspace_of(block, data)
        assert whole is not None, (
            f"{block.where}: nothing says where `{next(iter(data))}:` goes in a workspace: add "
            f"its place to PLACES in tests/docs/workspaces.py, or {HOW_TO_MARK}"
        )
        load_block_workspace(block, whole, text, root)


def _check_shell(block: Block, *, ran: bool) -> None:
    """Each command parses; one that cannot be checked so is allowed only in a block a test
    runs (`ran`), whose `syncwell` lines are still parsed here too."""
    text = console_input(block.text) if block.lang == "console" else block.text
    found = commands(text)
    assert found or ran, f"{block.where}: a shell block with no command"
    for command in found:
        try:
            problem = problem_of(command)
        except NotCheckableError as unknown:
            if ran:
                continue
            pytest.fail(
                f"{block.where}: `{unknown}` cannot be checked without running it: run the "
                f"block in a test (tests/docs/blocks.py, ELSEWHERE), or {HOW_TO_MARK}"
            )
        assert problem is None, f"{block.where}: {problem}"


def _check_json(block: Block) -> None:
    decoder = json.JSONDecoder()
    text, at = block.text, 0
    while at < len(text.rstrip()):
        try:
            _, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as error:
            pytest.fail(f"{block.where}: not JSON ({error}); {HOW_TO_MARK}")
        while at < len(text) and text[at].isspace():
            at += 1


def _check_python(block: Block) -> None:
    tree = compile(
        block.text, block.where, "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    assert isinstance(tree, ast.Module)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("syncwell"):
            module = importlib.import_module(str(node.module))
            missing = [a.name for a in node.names if not hasattr(module, a.name)]
            assert not missing, f"{block.where}: {node.module} has no {missing}"


def test_marks_are_known() -> None:
    """A mark is one this module knows: a typo (`ilustrative`) would leave a block checked
    silently less, or a language unknown here unchecked."""
    for block in all_blocks():
        assert block.marks <= {ILLUSTRATIVE}, f"{block.where}: unknown marks {block.marks}"


def test_blocks_checked_elsewhere_exist() -> None:
    """Each block another test claims is still in its doc, once."""
    for doc, starts in ELSEWHERE:
        find_block(doc, starts)


def test_count(capsys: pytest.CaptureFixture[str]) -> None:
    """The numbers: blocks in all, checked here or elsewhere, marked illustrative."""
    blocks = all_blocks()
    marked = sum(b.illustrative for b in blocks)
    elsewhere = sum(1 for b in blocks if not b.illustrative and checked_elsewhere(b))
    with capsys.disabled():
        print(
            f"\ndoc blocks: {len(blocks)}, checked {len(blocks) - marked} "
            f"({elsewhere} by running or comparing them), marked illustrative {marked}"
        )
    assert len(blocks) > 100  # a parser that finds nothing would pass everything
