"""What `syncwell check` warns about: a workspace that loads, but where syncwell could miss
something without an error (DESIGN.md: the worst bug is a silent one).

Each warning names the flow or system and says what to write to settle it. Problems that stop
a workspace from loading are in `checks.py`; these let it run.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncwell.connectors import unverifiable
from syncwell.connectors.http.endpoints import OffsetPages, PageNumberPages
from syncwell.connectors.http.filter_check import unchecked
from syncwell.connectors.http.settings import Settings as HttpSettings
from syncwell.workspace.comparable import first_sync_warning
from syncwell.workspace.model import Flow, Workspace
from syncwell.workspace.modes import Mode
from syncwell.workspace.pairs import reverse_of
from syncwell.workspace.unsent import TOOL_KINDS, is_updated_at, needed_columns, unsent_of
from syncwell.workspace.webhooks import webhook_warnings
from syncwell.workspace.write_warnings import write_warnings

__all__ = ["CheckWarning", "workspace_warnings"]

_UNCHECKED = (
    "`check: false`: nothing proves this filter returns what changed, and a filter the API "
    "reads as 'equal to' returns nothing without an error. Remove `check: false` (it costs a "
    "few requests an hour), or run `syncwell probe` after every change to the filter"
)


@dataclass(frozen=True, slots=True)
class CheckWarning:
    """One thing syncwell cannot be sure of, where it is, and the fix."""

    where: str
    message: str


def workspace_warnings(workspace: Workspace) -> list[CheckWarning]:
    """Every warning of a loaded workspace, flows first, in the file's order."""
    found: list[CheckWarning] = []
    for flow in workspace.flows.values():
        found += flow_warnings(flow)
        found += _shifting_pages(flow, workspace)
        found += _unverified(flow, workspace)
        found += _own_cursor_written(flow, workspace)
        if (rewrites := first_sync_warning(flow, workspace)) is not None:
            found.append(CheckWarning(f"flows.{flow.name}", rewrites))
    for name, system in workspace.systems.items():
        if isinstance(system.settings, HttpSettings):
            read = {f.stream for f in workspace.flows.values() if f.source == name}
            for stream in (s for s in unchecked(system.settings.streams) if s in read):
                where = f"systems.{name}.streams.{stream}.read.incremental"
                found.append(CheckWarning(where, _UNCHECKED))
            written = {f.target for f in workspace.flows.values() if f.destination == name}
            for stream, configured in system.settings.streams.items():
                if stream in written and configured.write is not None:
                    where = f"systems.{name}.streams.{stream}.write"
                    found += [CheckWarning(where, t) for t in write_warnings(configured.write)]
        if system.webhooks is not None:
            where = f"systems.{name}.webhooks"
            found += [CheckWarning(where, text) for text in webhook_warnings(name, system.webhooks)]
    return found


def _shifting_pages(flow: Flow, workspace: Workspace) -> list[CheckWarning]:
    """A pass that finds deletes by absence over offset or page-number pages, with nothing to
    tell a listing that shifted: a record deleted while it reads moves another past it."""
    settings = workspace.systems[flow.source].settings
    if flow.mode is Mode.MANUAL or not (flow.scans_keys or flow.passes_by_read):
        return []
    if not isinstance(settings, HttpSettings) or flow.stream not in settings.streams:
        return []
    read = settings.streams[flow.stream].read
    if read is None or read.total is not None:
        return []
    if not isinstance(read.pagination, OffsetPages | PageNumberPages):
        return []
    return [
        CheckWarning(
            f"systems.{flow.source}.streams.{flow.stream}.read",
            f"flow '{flow.name}' takes what a whole listing does not hold for deleted, but "
            "these pages go by offset and nothing counts them: a record deleted while the "
            "listing runs shifts another past it, or an unannounced page cap hides the rest, "
            "and those would be deleted too (up to deletes.max_share). Give `total:` (the "
            "API's count of records) so an incomplete listing fails instead",
        )
    ]


def flow_warnings(flow: Flow) -> list[CheckWarning]:
    """What one flow may miss without an error."""
    if flow.mode is Mode.MANUAL:
        return []
    where = f"flows.{flow.name}"
    found = []
    if flow.deletes is None and flow.cursor is not None:
        found.append(
            CheckWarning(
                where,
                f"deletes in '{flow.source}' are not seen: a read by cursor never shows a "
                "record that is gone. Add `deletes: {detect: scan, every: 1h}` to find them "
                "by a key scan, or `deletes: {detect: none}` if deletes do not matter here",
            )
        )
    if flow.cursor is None and flow.deletes is not None and flow.deletes.detect == "none":
        found.append(
            CheckWarning(
                where,
                "this flow reads without a cursor but `deletes: {detect: none}`: records gone "
                "from the source stay in the destination",
            )
        )
    return found


def _own_cursor_written(flow: Flow, workspace: Workspace) -> list[CheckWarning]:
    """A write to a tool that carries the tool's own cursor: the tool sets it itself, and one
    that refuses it turns every record into a dead letter."""
    if flow.mode is Mode.MANUAL or workspace.systems[flow.destination].kind not in TOOL_KINDS:
        return []
    unsent, reverse = unsent_of(flow, workspace), reverse_of(flow, workspace.flows)
    ours = {column for column in (reverse.cursor, reverse.version) if column} if reverse else set()
    chosen = unsent.only or frozenset()
    where, tool = f"flows.{flow.name}", flow.destination
    found = []
    for column in _written(flow, ours):
        if not unsent.sent(column):
            continue
        if reverse is not None and column in ours:
            why = needed_columns(flow, workspace.systems[tool]).get(column)
            fix = (
                f"it is sent because it {why}: write that endpoint without it"
                if why
                else "take it out of `write_fields:`"
            )
            message = (
                f"writes '{column}' to '{tool}', the cursor flow '{reverse.name}' reads "
                f"'{tool}' by: the tool sets it itself, and a tool that refuses it "
                f"dead-letters every record; {fix}"
            )
            found.append(CheckWarning(where, message))
        elif is_updated_at(column) and column not in chosen:
            message = (
                f"writes '{column}' to '{tool}'; by its name it is the tool's own updated-at, "
                "which a tool sets itself and may refuse in every record (each a dead "
                f"letter). If '{tool}' sets it, add `read_only: [{column}]`; if it keeps "
                "what syncwell sends, name it in `write_fields:`"
            )
            found.append(CheckWarning(where, message))
    return found


def _written(flow: Flow, ours: set[str]) -> list[str]:
    """The destination columns a write may carry, where the workspace names them."""
    if flow.fields:
        return list(flow.fields.values())
    # Every column moves: the names the workspace knows are the same on both sides.
    named = [*flow.key, flow.cursor, flow.version, *sorted(ours), *(flow.write_fields or ())]
    return [column for column in dict.fromkeys(named) if column is not None]


def _unverified(flow: Flow, workspace: Workspace) -> list[CheckWarning]:
    """A flow whose writes are to be verified (`verify:`, on by default) at a destination
    that cannot read them back: said here, and once in the run's log, never in silence."""
    if flow.mode is Mode.MANUAL or not flow.verify.on:
        return []
    gap = unverifiable(workspace.systems[flow.destination].settings, flow.target)
    if gap is None:
        return []
    return [
        CheckWarning(
            f"flows.{flow.name}.verify",
            f"writes to '{flow.destination}' cannot be read back to prove they stuck: {gap}. "
            "A record then counts as delivered on the destination's answer alone, and a field "
            "it ignores goes unseen; where that is enough, say so with `verify: false`",
        )
    ]
