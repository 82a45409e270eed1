"""`mode: cdc` in syncwell.yaml: what it accepts, what it refuses at the right line, and the
names it gives the slot and publication."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwell.connectors.postgres.cdc import capture_names
from syncwell.workspace import Mode, WorkspaceProblems, parse_workspace

SYSTEMS = """systems:
  core: {kind: postgres, dsn: 'postgresql://u@h/db'}
  app: {kind: sqlite, path: app.db}
"""


def _parse(text: str, tmp_path: Path) -> object:
    return parse_workspace(SYSTEMS + text, "syncwell.yaml", tmp_path, env={})


def test_a_cdc_flow_with_a_dba_slot_loads(tmp_path: Path) -> None:
    """mode: cdc from a postgres system, with the DBA's slot and publication."""
    text = (
        "flows:\n  orders:\n    source: core\n    destination: app\n    stream: orders\n"
        "    key: id\n    mode: cdc\n    cdc: {slot: orders_slot, publication: orders_pub}\n"
    )
    workspace = parse_workspace(SYSTEMS + text, "syncwell.yaml", tmp_path, env={})
    flow = workspace.flows["orders"]
    assert flow.mode is Mode.CDC and flow.cdc is not None and flow.cdc.slot == "orders_slot"
    assert not flow.passes_by_read  # its deletes come as changes, not by whole reads


@pytest.mark.parametrize(
    ("flow", "line", "key", "hint"),
    [
        (
            "    source: app\n    destination: core\n    stream: t\n    key: id\n    mode: cdc\n",
            10,
            "flows.t.mode",
            "the source 'app' is a sqlite system",
        ),
        (
            "    source: core\n    destination: app\n    stream: t\n    key: id\n"
            "    cdc: {slot: s}\n",
            10,
            "flows.t.cdc",
            "write `mode: cdc`, or remove cdc:",
        ),
        (
            "    source: core\n    destination: app\n    stream: t\n    key: id\n    mode: cdc\n"
            "    cdc: {slot: Not-A-Slot}\n",
            11,
            "flows.t.cdc.slot",
            "",
        ),
    ],
    ids=["not postgres", "cdc: without mode: cdc", "a slot name PostgreSQL refuses"],
)
def test_mistakes_are_named_at_their_line(
    flow: str, line: int, key: str, hint: str, tmp_path: Path
) -> None:
    """Each mistake is one problem, at its own line and key, with its fix."""
    with pytest.raises(WorkspaceProblems) as caught:
        _parse(f"flows:\n  t:\n{flow}", tmp_path)
    (problem,) = caught.value.problems
    assert (problem.line, problem.key) == (line, key)
    assert hint in problem.message


def test_derived_names_fit_postgresql() -> None:
    """Derived names are lower case, [a-z0-9_] only, at most 63 characters, and two long
    names that share their first 54 characters still differ."""
    names = capture_names("Shop Floor", "order-items")
    assert names.slot == names.publication == "syncwell_shop_floor_order_items"
    assert not names.slot_named and not names.publication_named
    long_a = capture_names("w" * 40, "flow_" + "a" * 40).slot
    long_b = capture_names("w" * 40, "flow_" + "a" * 39 + "b").slot
    assert len(long_a) == len(long_b) == 63 and long_a != long_b
    named = capture_names("shop", "orders", slot="mine", publication=None)
    assert (named.slot, named.publication) == ("mine", "syncwell_shop_orders")
    assert named.slot_named and not named.publication_named
