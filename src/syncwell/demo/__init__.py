"""The embedded demo: a CRM, the core app and an email tool, all SQLite files in one folder.

It shows a first full sync, an incremental one after people edit records in the CRM, and a
record the core refuses (a contact without an email) landing in the dead letters.
"""

from __future__ import annotations

from syncwell.demo.seed import change_some_contacts, prepare

__all__ = ["change_some_contacts", "prepare"]
