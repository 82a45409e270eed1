"""Reading syncwell.yaml into plain data while remembering the line of every value.

`yaml.safe_load` forgets where values came from, and an error without a line sends people
searching. So the file is composed into nodes (which carry their marks), walked once, and each
key path is mapped to its line. Variables are expanded on the way, per scalar, so an unset
variable is reported at the line that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from syncwell.workspace.envvars import expand_env
from syncwell.workspace.problems import KeyPath, Problem

__all__ = ["Document", "read_document"]


@dataclass(frozen=True, slots=True)
class Document:
    """The file's data and the line of each key path in it."""

    data: object
    lines: Mapping[KeyPath, int]

    def line_of(self, key: KeyPath) -> int | None:
        """The line of `key`, or of its nearest ancestor when the key is not in the file."""
        for end in range(len(key), -1, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return line
        return None


def read_document(text: str, env: Mapping[str, str]) -> tuple[Document | None, list[Problem]]:
    """Parse `text`; the document is None when the file cannot be read as a mapping at all."""
    tabs = _tab_problems(text)
    if tabs:
        return None, tabs
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        return None, [_syntax_problem(error, text)]
    except yaml.YAMLError as error:
        return None, [Problem((), f"this is not valid YAML: {error}")]
    if root is None or (isinstance(root, ScalarNode) and root.value == ""):
        return None, [Problem((), _EMPTY, line=1)]
    if not isinstance(root, MappingNode):
        shape = "a list" if isinstance(root, SequenceNode) else "a single value"
        message = (
            f"the top level must be a mapping of sections (systems:, flows:, ...), not {shape}"
        )
        return None, [Problem((), message, line=_line(root))]
    walker = _Walker(env)
    data = walker.walk(root, ())
    walker.lines[()] = 1
    return Document(data, walker.lines), walker.problems


_EMPTY = (
    "the workspace file is empty; start with a `systems:` section and a `flows:` section "
    "(see docs/workspace.md for a complete example)"
)


@dataclass
class _Walker:
    env: Mapping[str, str]
    lines: dict[KeyPath, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    constructor: SafeConstructor = field(default_factory=SafeConstructor)
    # Nodes being walked: an anchor used inside itself would otherwise recurse forever.
    open_nodes: set[int] = field(default_factory=set)

    def walk(self, node: Node, key: KeyPath) -> object:
        if id(node) in self.open_nodes:
            message = "an anchor is used inside itself (*alias within &anchor); remove the loop"
            self.problems.append(Problem(key, message, line=_line(node)))
            return None
        self.open_nodes.add(id(node))
        try:
            return self._walk(node, key)
        finally:
            self.open_nodes.discard(id(node))

    def _walk(self, node: Node, key: KeyPath) -> object:
        if isinstance(node, MappingNode):
            return self._mapping(node, key)
        if isinstance(node, SequenceNode):
            items: list[object] = []
            for index, item in enumerate(node.value):
                self.lines[(*key, index)] = _line(item)
                items.append(self.walk(item, (*key, index)))
            return items
        return self._scalar(node, key)

    def _mapping(self, node: MappingNode, key: KeyPath) -> dict[str, object]:
        self._check_duplicates(node, key)
        try:
            # Resolves `<<: *anchor` merges; keys written here win over merged ones.
            self.constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as error:
            self.problems.append(_syntax_problem(error))
            return {}
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                message = "a key must be a plain name, not a list or a mapping"
                self.problems.append(Problem(key, message, line=_line(key_node)))
                continue
            name = str(key_node.value)
            self.lines[(*key, name)] = _line(key_node)
            result[name] = self.walk(value_node, (*key, name))
        return result

    def _check_duplicates(self, node: MappingNode, key: KeyPath) -> None:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            name = str(key_node.value)
            if name in seen:
                message = (
                    f"duplicate key '{name}' (first on line {seen[name]}); YAML keeps only the "
                    "last one, so remove or rename one of them"
                )
                self.problems.append(Problem((*key, name), message, line=_line(key_node)))
            seen.setdefault(name, _line(key_node))

    def _scalar(self, node: Node, key: KeyPath) -> object:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as error:
            self.problems.append(_syntax_problem(error))
            return None
        if not isinstance(value, str):
            return value
        try:
            return expand_env(value, self.env)
        except ValueError as error:
            self.problems.append(Problem(key, str(error), line=_line(node)))
            return value


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _tab_problems(text: str) -> list[Problem]:
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            message = "a tab indents this line; YAML indents with spaces only, replace the tab"
            problems.append(Problem((), message, line=number))
    return problems


def _syntax_problem(error: yaml.MarkedYAMLError, text: str = "") -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "cannot be read"
    line = mark.line + 1 if mark else None
    column = f" at column {mark.column + 1}" if mark else ""
    hint = "check the indentation, the colons and the quotes on this line and the one before"
    written = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
    if "${" in written:
        # `{` starts a mapping inside [ ] and { }, the most common way ${VAR} breaks a file.
        hint = "inside [ ] or { } put a value that uses ${VAR} in quotes: '${VAR}'"
    return Problem((), f"YAML syntax error{column}: {what}; {hint}", line=line)
