"""Turning the CRM's writes into webhook events (every change echoes, whoever made it)."""

from __future__ import annotations

from syncwell.sandbox.crm.kinds import Kind
from syncwell.sandbox.crm.store import Change
from syncwell.sandbox.webhooks import ChangeSet, WebhookSender

__all__ = ["publish_changes", "publish_delete"]


def publish_changes(sender: WebhookSender, kind: Kind, changes: list[Change]) -> None:
    """The created and updated records of one call; nothing for an unchanged one.

    Each subscriber gets them in its style: by default one `<object>.created` or
    `<object>.updated` event per record.
    """
    items = [(change.what, change.record) for change in changes if change.what != "unchanged"]
    if items:
        stamp = max(str(record["updated_at"]) for _, record in items)
        sender.publish(ChangeSet(kind.table, kind.singular, kind.key, stamp, items))


def publish_delete(sender: WebhookSender, kind: Kind, data: dict[str, object], stamp: str) -> None:
    """A deleted record: by default a `<object>.deleted` event with its id and key."""
    sender.publish(ChangeSet(kind.table, kind.singular, kind.key, stamp, [("deleted", data)]))
