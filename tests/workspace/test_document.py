"""Reading YAML with lines: anchors, merges and variables."""

from __future__ import annotations

from syncwell.workspace.document import read_document


def test_lines_are_recorded_for_keys_and_items() -> None:
    """Every mapping key and list item gets the 1-based line it is written on."""
    document, problems = read_document("a:\n  b: 1\n  c:\n    - x\n    - y\n", {})
    assert problems == [] and document is not None
    assert document.data == {"a": {"b": 1, "c": ["x", "y"]}}
    assert document.lines[("a", "b")] == 2
    assert document.lines[("a", "c", 1)] == 5
    assert document.line_of(("a", "c", 1, "missing")) == 5
    assert document.line_of(("nowhere",)) == 1


def test_merge_keys_fill_in_and_local_keys_win() -> None:
    """A `<<: *anchor` merge supplies keys that the mapping itself does not set."""
    text = "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n"
    document, problems = read_document(text, {})
    assert problems == [] and document is not None
    assert document.data == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 3}}


def test_an_anchor_inside_itself_is_a_problem_not_a_hang() -> None:
    """A recursive alias is reported instead of recursing forever."""
    document, problems = read_document("a: &a [1, *a]\n", {})
    assert document is not None
    assert [p.line for p in problems] == [1]
    assert "anchor is used inside itself" in problems[0].message


def test_variables_expand_in_values_not_keys_nor_numbers() -> None:
    """${VAR} expands in string values (lists included), never in keys."""
    text = "${K}: ${V}\nlist: ['${V}', 2]\n"
    document, problems = read_document(text, {"K": "key", "V": "value"})
    assert problems == [] and document is not None
    assert document.data == {"${K}": "value", "list": ["value", 2]}


def test_every_unset_variable_is_reported() -> None:
    """Each unset variable is its own problem at its own line."""
    _, problems = read_document("a: ${X}\nb: ${Y}\n", {})
    assert [(p.key, p.line) for p in problems] == [(("a",), 1), (("b",), 2)]


def test_unquoted_variable_in_flow_style_gets_a_quoting_hint() -> None:
    """A ${VAR} that breaks a [ ] list is a syntax error whose hint says to quote it."""
    document, problems = read_document("a: 1\nlist: [${V}, 2]\n", {"V": "v"})
    assert document is None
    assert [p.line for p in problems] == [2]
    assert "put a value that uses ${VAR} in quotes" in problems[0].message
