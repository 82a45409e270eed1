"""The HubSpot-like CRM: contacts by email, companies by domain, signed webhooks."""

from __future__ import annotations

from syncwell.sandbox.crm.app import create_crm

__all__ = ["create_crm"]
