"""Reconciliation of a realtime flow: the poll behind the webhooks (DESIGN.md, semantics 6).

Webhooks get lost. So a realtime flow also reads its source on a slower interval, and each
change that read finds is compared with the versions the webhooks brought: one already seen
is dropped (the webhook delivered it), a newer one is journaled and counted as missed. The
count per pass is kept, because a tool whose webhooks keep missing changes is one to look at.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncwell.engine.coalesce import key_getter
from syncwell.engine.guard import key_text
from syncwell.store import RecordVersions, SeenVersions
from syncwell.types import ChangeBatch
from syncwell.versions import comparable, is_newer

__all__ = ["Reconciler"]


@dataclass(slots=True)
class Reconciler:
    """Screens one pass of a realtime flow's poll against what its webhooks brought."""

    versions: RecordVersions
    system: str
    stream: str
    key: tuple[str, ...]
    version: str | None
    checked: int = 0
    missed: int = 0

    async def screen(
        self, batch: ChangeBatch, *, counting: bool = True
    ) -> tuple[ChangeBatch, SeenVersions | None]:
        """The changes of `batch` that no webhook brought (all of them when unversioned).

        Without `counting` (the first full read) every change passes and is only noted as
        seen, so the next pass does not count what the full read already took in. The
        versions to note as seen are returned, to commit with the journal entry: noted
        before it, a crash in between would leave a missed change marked as seen.
        """
        if not len(batch):
            return batch, None
        batch = batch.decoded()
        if counting:
            self.checked += len(batch)
        if self.version is None or self.version not in batch.columns:
            self.missed += len(batch) if counting else 0
            return batch, None
        at = batch.columns.index(self.version)
        keys = [key_text(k) for k in map(key_getter(batch.columns, self.key), batch.rows)]
        states = await self.versions.states(self.system, self.stream, keys)
        missed: list[int] = []
        kept: list[int] = []
        newest: dict[str, float | str | None] = {}
        for index, key in enumerate(keys):
            version = comparable(batch.rows[index][at])
            if version is None:
                # No version (a NULL cursor) says nothing of order, nor of what a webhook
                # brought: taken in (the key ledger already dropped it if unchanged), never
                # counted as missed.
                kept.append(index)
                continue
            known = states[key].seen_version if key in states else None
            if key not in states or is_newer(version, known):
                missed.append(index)
                kept.append(index)
                newest[key] = version
        seen = SeenVersions(self.system, self.stream, newest) if newest else None
        if not counting:
            return batch, seen
        self.missed += len(missed)
        return (batch if len(kept) == len(batch) else batch.select(kept)), seen
