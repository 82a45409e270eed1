"""The slow project tool: tasks with offsets, basic auth, a stingy rate limit, outages."""

from __future__ import annotations

from syncwell.sandbox.project.app import create_project

__all__ = ["create_project"]
