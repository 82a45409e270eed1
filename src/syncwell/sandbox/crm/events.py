"""Turning the CRM's writes into webhook events (every change echoes, whoever made it)."""

from __future__ import annotations

from syncwell.sandbox.crm.kinds import Kind
from syncwell.sandbox.crm.store import Change
from syncwell.sandbox.webhooks import WebhookSender, make_event

__all__ = ["publish_changes", "publish_delete"]


def publish_changes(sender: WebhookSender, kind: Kind, changes: list[Change]) -> None:
    """One `<object>.created` or `<object>.updated` event per real change; none if unchanged."""
    for change in changes:
        if change.what == "unchanged":
            continue
        occurred_at = str(change.record["updated_at"])
        sender.publish(make_event(f"{kind.singular}.{change.what}", change.record, occurred_at))


def publish_delete(sender: WebhookSender, kind: Kind, data: dict[str, object], stamp: str) -> None:
    """A `<object>.deleted` event carrying the id and the key of the deleted record."""
    sender.publish(make_event(f"{kind.singular}.deleted", data, stamp))
