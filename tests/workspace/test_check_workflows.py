"""`syncwell check` refuses a workflow that goes round a cycle, and names each mistake once.

A workflow is the path one piece of work travels once: a flow listed twice (`[a, b, a, b]`)
is refused with the step that repeats and the list to write instead. A system visited twice
by different flows (core -> projects -> core) is a real round trip and stays valid.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from syncwell.cli import app
from syncwell.workspace import parse_workspace

from .conftest import Problems

runner = CliRunner()

TWO_WAY = """\
systems:
  core: {kind: sqlite, path: core.db}
  crm: {kind: sqlite, path: crm.db}
  projects: {kind: sqlite, path: projects.db}
flows:
  a: {source: crm, destination: core, stream: contacts, key: id, cursor: updated_at}
  b: {source: core, destination: crm, stream: contacts, key: id, cursor: updated_at}
  call: {source: core, destination: projects, stream: contacts, target: tasks, key: id,
         mode: manual}
  tasks: {source: projects, destination: core, stream: tasks, key: id, cursor: updated_at}
workflows:
"""


def _check(tmp_path: Path, text: str) -> tuple[int, str]:
    """`syncwell check` on `text`: its exit code and its output, as one line of words."""
    path = tmp_path / "syncwell.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["check", "-w", str(path)])
    return result.exit_code, " ".join(result.output.split())


def test_check_refuses_a_workflow_that_goes_round_a_cycle(tmp_path: Path) -> None:
    """[a, b, a, b] exits 2 naming the repeated step, the cycle and the list to write."""
    code, output = _check(tmp_path, TWO_WAY + "  w: [a, b, a, b]\n")
    assert code == 2, output
    assert "syncwell.yaml:12: [workflows.w[2]] 'a' is step 1 of this workflow and step 3" in output
    assert "the cycle crm -> core -> crm" in output
    assert "end it before the repeat, [a, b]" in output
    assert output.count("is step") == 1, output  # the second repeat (b) is the same cycle


def test_the_full_form_names_the_repeat_under_flows(problems: Problems) -> None:
    """`flows:` under a described workflow: the repeat is at `workflows.w.flows[i]`."""
    (problem,) = problems(TWO_WAY + "  w: {description: round and round, flows: [b, a, b]}\n")
    assert problem.key == "workflows.w.flows[2]"
    assert "the cycle core -> crm -> core" in problem.message


def test_a_flow_repeated_right_after_itself_is_named_once(problems: Problems) -> None:
    """[a, a]: one problem at [1], the flows that do not connect, not a second for the repeat."""
    (problem,) = problems(TWO_WAY + "  w: [a, a]\n")
    assert problem.key == "workflows.w[1]"
    assert "do not connect" in problem.message


def test_a_system_visited_twice_by_different_flows_is_a_valid_workflow(tmp_path: Path) -> None:
    """core -> projects -> core (a call booked by hand, tracked back): a real round trip."""
    text = TWO_WAY + "  onboarding: [call, tasks]\n  lead: [a, call, tasks]\n"
    workspace = parse_workspace(text, "syncwell.yaml", tmp_path, env={})
    assert workspace.workflows["lead"].flows == ("a", "call", "tasks")
    code, output = _check(tmp_path, text)
    assert code == 0, output


def test_an_empty_cursor_is_named_once_with_its_key(tmp_path: Path) -> None:
    """`cursor: ""` is one problem at flows.a.cursor: not again at the version it defaults,
    and the key is shown (it was read as markup and vanished)."""
    text = (
        "systems:\n  core: {kind: sqlite, path: core.db}\n  crm: {kind: sqlite, path: crm.db}\n"
        'flows:\n  a: {source: crm, destination: core, stream: contacts, key: id, cursor: ""}\n'
    )
    code, output = _check(tmp_path, text)
    assert code == 2, output
    assert output.count("must not be empty") == 1, output
    assert "syncwell.yaml:5: [flows.a.cursor] must not be empty" in output
    assert "version" not in output


def test_a_cursor_that_fields_leaves_out_is_named_once(tmp_path: Path) -> None:
    """`fields` without the cursor, and `write_fields` naming it: one problem, at `fields`,
    with the fix; not a second calling it a column the flow does not move."""
    text = (
        "systems:\n  core: {kind: sqlite, path: core.db}\n  crm: {kind: sqlite, path: crm.db}\n"
        "flows:\n  a: {source: crm, destination: core, stream: contacts, key: id,\n"
        "      cursor: updated_at, fields: [id, name], write_fields: [updated_at]}\n"
    )
    code, output = _check(tmp_path, text)
    assert code == 2, output
    assert output.count("'updated_at'") == 1, output
    assert "[flows.a.fields] fields leaves out 'updated_at'; add them" in output
