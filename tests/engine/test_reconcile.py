"""A reconciliation pass counts as missed only what it can prove no webhook brought."""

from __future__ import annotations

from syncwell.engine.reconcile import Reconciler
from syncwell.store import Store
from syncwell.types import ChangeBatch


async def test_rows_without_a_version_are_taken_in_but_never_counted_as_missed(
    state_store: Store,
) -> None:
    """Of four rows: an older version (a webhook brought a newer one) is dropped; a newer
    version and a key never seen are missed; a row whose cursor is NULL passes through
    uncounted (it says nothing of what the webhooks brought), so the count stays useful."""
    await state_store.record_versions.note_seen("crm", "contacts", {"a": 5.0, "b": 5.0})
    reconciler = Reconciler(state_store.record_versions, "crm", "contacts", ("id",), "v")
    rows = [("a", 4.0), ("b", 6.0), ("c", 1.0), ("d", None)]
    kept, seen = await reconciler.screen(ChangeBatch(("id", "v"), rows))
    assert sorted(kept.rows, key=str) == [("b", 6.0), ("c", 1.0), ("d", None)]
    assert reconciler.checked == 4 and reconciler.missed == 2
    assert seen is not None and seen.versions == {"b": 6.0, "c": 1.0}
