"""The Mailchimp-like email platform: an audience of members, eventually consistent reads."""

from __future__ import annotations

from syncwell.sandbox.email.app import create_email

__all__ = ["create_email"]
