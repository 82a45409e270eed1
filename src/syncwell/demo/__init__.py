"""The demo: the core app (SQLite) and the sandbox's CRM, email platform and project tool.

Leads arrive in the CRM and reach the product by webhook; the product's users reach the CRM by
poll (a two-way sync without echoes); everyone reaches the email platform in batches; the
project tool is polled every four hours, the slow integration of the story.
"""

from __future__ import annotations

from syncwell.demo.activity import simulate_people
from syncwell.demo.dashboard import TOKEN_FILE, demo_token
from syncwell.demo.world import DemoWorld, demo_world

__all__ = ["TOKEN_FILE", "DemoWorld", "demo_token", "demo_world", "simulate_people"]
