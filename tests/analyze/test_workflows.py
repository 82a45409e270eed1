"""Workflows come from the workspace, else from the flow graph's paths."""

from __future__ import annotations

from syncwell.analyze import model_workflows
from syncwell.analyze.workflows import PATH_LIMIT
from tests.analyze.kit import tools_workspace


def test_declared_workflows_win() -> None:
    """Declared workflows are taken as written."""
    workspace = tools_workspace(
        {"a": "crm -> core", "b": "core -> email"}, workflows={"signup": ["a", "b"]}
    )
    assert model_workflows(workspace) == {"signup": ("a", "b")}


def test_paths_chain_flows_and_skip_going_straight_back() -> None:
    """crm -> core -> email is one path; core -> crm (the two-way return) starts its own and
    does not loop back into crm -> core."""
    workspace = tools_workspace(
        {"lead": "crm -> core", "back": "core -> crm", "mail": "core -> email"}
    )
    assert set(model_workflows(workspace).values()) == {("lead", "mail"), ("back",)}


def test_a_cycle_with_no_way_in_still_gets_a_path() -> None:
    """Three tools feeding each other in a ring (no flow from outside) make one path."""
    workspace = tools_workspace({"x": "one -> two", "y": "two -> three", "z": "three -> one"})
    assert list(model_workflows(workspace).values()) == [("x", "y", "z")]


def test_too_many_paths_fall_back_to_one_workflow_per_flow() -> None:
    """A star of 101 tools into the core and 101 out of it has 10,201 paths: past the limit,
    each flow is its own workflow."""
    count = 101
    assert count * count > PATH_LIMIT
    flows = {f"in{i}": f"t{i} -> core" for i in range(count)}
    flows |= {f"out{i}": f"core -> u{i}" for i in range(count)}
    workflows = model_workflows(tools_workspace(flows))
    assert workflows == {name: (name,) for name in flows}
