"""The commented `syncwell.yaml` that `syncwell init` writes.

Written as text, not dumped from a mapping, because the comments are half its worth: each
flow says why its key and cursor were chosen and what to change.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncwell.workspace.init_proposal import FlowProposal

__all__ = ["SystemDraft", "render_database_workspace", "scalar", "system_lines"]

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")
_WIDTH = 96


@dataclass(frozen=True, slots=True)
class SystemDraft:
    """A system to write: its name, its settings in order, and a comment on what it is."""

    name: str
    kind: str
    settings: dict[str, str] = field(default_factory=dict)
    comment: str = ""


def scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when that is safe, else double-quoted.

    A `$` stays as written only in a `${VAR}` placeholder; any other is doubled, because the
    loader reads `$$` as a literal `$`.
    """
    escaped = re.sub(r"\$(?!\{)", "$$", value)
    if _PLAIN.fullmatch(escaped) and escaped.lower() not in {"yes", "no", "on", "off", "null"}:
        return escaped
    return json.dumps(escaped)


def _comment(text: str, indent: int) -> list[str]:
    lead = " " * indent + "# "
    return textwrap.wrap(text, _WIDTH - len(lead), initial_indent=lead, subsequent_indent=lead)


def system_lines(draft: SystemDraft) -> list[str]:
    """The system's lines under `systems:`, its comment above them."""
    lines = _comment(draft.comment, 2) if draft.comment else []
    lines += [f"  {draft.name}:", f"    kind: {draft.kind}"]
    lines += [f"    {name}: {scalar(value)}" for name, value in draft.settings.items()]
    return lines


def _key(key: Sequence[str]) -> str:
    if len(key) == 1:
        return scalar(key[0])
    return "[" + ", ".join(scalar(column) for column in key) + "]"


def _flow(proposal: FlowProposal, source: str, destination: str) -> list[str]:
    rows = "" if proposal.rows is None else f" ({proposal.rows:,} rows, the catalog's estimate)"
    lines = ["", *_comment(f"{proposal.table}{rows}", 2)]
    lines += (
        _comment(f"key {_key(proposal.key)}: {proposal.key_reason}.", 2) if proposal.key else []
    )
    cursor = f"cursor {proposal.cursor}" if proposal.cursor else "no cursor"
    lines += _comment(f"{cursor}: {proposal.cursor_reason}.", 2)
    body = [
        f"{proposal.flow}:",
        f"  source: {source}",
        f"  destination: {destination}",
        f"  stream: {scalar(proposal.table)}",
        f"  key: {_key(proposal.key) if proposal.key else 'EDIT  # the column(s) naming a row'}",
    ]
    if proposal.cursor:
        body += [
            f"  cursor: {scalar(proposal.cursor)}",
            "  interval: 30s                   # time between reads of what changed",
            "  deletes: {detect: scan, every: 1h}   # a read by cursor never sees a DELETE: "
            "list the keys hourly",
        ]
    else:
        body.append("  interval: 5m                    # each read is whole: not too often")
    if proposal.skipped:
        lines += _comment(f"Left out: {proposal.skipped}.", 2)
        return lines + [f"  # {line}" for line in body]
    return lines + [f"  {line}" for line in body]


def render_database_workspace(
    name: str,
    source: SystemDraft,
    destination: SystemDraft,
    proposals: Sequence[FlowProposal],
    workspace_file: str,
) -> str:
    """The whole file: a header with the next commands, the two systems, one flow a table."""
    command = f"-w {scalar(workspace_file)}"
    header = [
        "# Written by `syncwell init`. Every field: docs/workspace.md. Next:",
        f"#   syncwell check {command}            # validate this file",
        f"#   syncwell tables {command} --create  # create the destination tables it lacks",
        f"#   syncwell run {command} --once       # sync once, then exit",
        f"#   syncwell run {command}              # keep syncing; Ctrl-C stops cleanly",
        "version: 1",
        f"name: {scalar(name)}",
        "# core: NAME   # name the system that is your product, if one of these is: the other",
        "#              # is then the integration whose health and constraint are told",
        "",
        "systems:",
        *system_lines(source),
        *system_lines(destination),
        "",
    ]
    live = [proposal for proposal in proposals if not proposal.skipped]
    flows = ["flows:" if live else "flows: {}   # no table has a key yet: see below"]
    for proposal in proposals:
        flows += _flow(proposal, source.name, destination.name)
    if len(flows) > 1 and not flows[1]:
        del flows[1]  # flows are set apart by a blank line, the first from `flows:` by none
    return "\n".join(header + flows) + "\n"
