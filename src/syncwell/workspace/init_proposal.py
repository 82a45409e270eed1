"""What `syncwell init` proposes for each table: a key, a cursor, and the reasons, in words.

The key is the primary key, else the smallest unique index on NOT NULL columns; a table with
neither has no identity to upsert by, and its flow is proposed commented out. The cursor is
a column named like `updated_at` (a time, in PostgreSQL), preferring one an index starts
with; a table without one is read whole each interval, which the workspace supports: only
changed rows are journaled and the read doubles as a key scan (docs/workspace.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from syncwell.connectors._sql import column_list
from syncwell.connectors.survey import SurveyedTable

__all__ = ["FlowProposal", "flow_name", "propose", "propose_all"]

# Columns that change when a row does: updated_at, modified_on, last_changed, mtime, ...
# `updated_by` and friends name a person, not a time.
_CURSOR_NAME = re.compile(
    r"^(?:.*_)?(?:last_?)?(?:updated|modified|changed|edited|mtime)(?:_?(?:at|on|time|ts|date|"
    r"timestamp|utc))?$|^(?:date|time)_(?:updated|modified|changed)$",
    re.IGNORECASE,
)
_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class FlowProposal:
    """One table's proposed flow: its key and cursor with the reasons, or why it is left out.

    Attributes:
        flow: the flow's name (the table's, made a valid name).
        table: the table read in the source (the flow's stream and target).
        key: the key's columns; empty when the table has no usable key.
        key_reason: why this key, or why there is none.
        cursor: the cursor column; None for a whole read each interval.
        cursor_reason: why this cursor, or why none, and what to change.
        skipped: why the flow is written commented out; None when it is live.
        rows: the catalog's row estimate, when it has one.
    """

    flow: str
    table: str
    key: tuple[str, ...]
    key_reason: str
    cursor: str | None
    cursor_reason: str
    skipped: str | None
    rows: int | None

    def as_dict(self) -> dict[str, object]:
        """The proposal for `--json`."""
        return {
            "flow": self.flow,
            "table": self.table,
            "key": list(self.key),
            "key_reason": self.key_reason,
            "cursor": self.cursor,
            "cursor_reason": self.cursor_reason,
            "skipped": self.skipped,
            "rows": self.rows,
        }


def flow_name(table: str) -> str:
    """`table` as a flow name: a letter first, then letters, digits, `_` and `-`."""
    name = _NAME_CHARACTERS.sub("_", table)
    return name if name[:1].isalpha() else f"t_{name}"


def propose_all(tables: Sequence[SurveyedTable], *, postgres: bool) -> list[FlowProposal]:
    """A flow per table, each name unique (`a b` and `a_b` both make `a_b`: one gets `_2`)."""
    proposals: list[FlowProposal] = []
    taken: set[str] = set()
    for table in tables:
        proposal = propose(table, postgres=postgres)
        name, number = proposal.flow, 1
        while name.lower() in taken:
            number += 1
            name = f"{proposal.flow}_{number}"
        taken.add(name.lower())
        proposals.append(replace(proposal, flow=name))
    return proposals


def propose(surveyed: SurveyedTable, *, postgres: bool) -> FlowProposal:
    """The flow `syncwell init` writes for one table."""
    key, key_reason = _key(surveyed)
    cursor, cursor_reason = _cursor(surveyed, key, postgres=postgres)
    skipped = None if key else key_reason
    return FlowProposal(
        flow=flow_name(surveyed.name),
        table=surveyed.name,
        key=key,
        key_reason=key_reason,
        cursor=cursor,
        cursor_reason=cursor_reason,
        skipped=skipped,
        rows=surveyed.rows,
    )


def _key(surveyed: SurveyedTable) -> tuple[tuple[str, ...], str]:
    if surveyed.primary_key:
        return surveyed.primary_key, "the primary key"
    table = surveyed.table
    usable = [
        index
        for index in surveyed.indexes
        if frozenset(index) in table.unique_keys and set(index) <= table.not_null
    ]
    if usable:
        best = min(usable, key=len)
        return best, (
            f"no primary key; a unique index on ({column_list(best)}), whose columns are "
            "NOT NULL, identifies each row as well"
        )
    nullable = [key for key in table.unique_keys if key and not key <= table.not_null]
    why = "no primary key and no unique index on NOT NULL columns"
    if nullable:
        why += f" (the unique index on ({column_list(sorted(nullable[0]))}) allows NULL)"
    return (), (
        f"{why}: a row has no identity to upsert by. Give the table a primary key (or a "
        "unique index on NOT NULL columns) and run `syncwell init --force` again, or write "
        "the key below by hand and uncomment the flow"
    )


def _cursor(
    surveyed: SurveyedTable, key: tuple[str, ...], *, postgres: bool
) -> tuple[str | None, str]:
    table = surveyed.table
    named = [
        column
        for column, declared in table.types.items()
        if _CURSOR_NAME.match(column)
        and column not in key
        and (not postgres or declared.startswith(("timestamp", "date")))
    ]
    if not named:
        return None, (
            "no updated_at-like column, so each interval reads the whole table and "
            "journals only the rows whose values changed; a key no longer seen is a delete. "
            "That costs a whole read per interval: add an updated_at column that every write "
            "sets, with an index, and name it as `cursor:` to read only what changed"
        )
    # An index that starts with it first, then one that is never NULL, then the file's order.
    cursor = min(named, key=lambda c: (not surveyed.leads_an_index(c), c not in table.not_null))
    reason = f"{table.types[cursor]} named like a change time"
    if surveyed.leads_an_index(cursor):
        reason += ", and an index starts with it, so each read of what changed is a range scan"
    else:
        order = column_list([cursor, *key])
        reason += (
            f"; no index starts with it, so each read of what changed scans the table: "
            f"CREATE INDEX ON {table.name} ({order})"
        )
    if cursor not in table.not_null:
        reason += "; a row whose value is NULL is taken in once, then again when it changes"
    return cursor, (
        f"{reason}. It must change on every write (set it in the application or a trigger); "
        "if it does not, remove `cursor:` to read the whole table each interval"
    )
