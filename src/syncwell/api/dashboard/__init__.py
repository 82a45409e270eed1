"""The dashboard: server-rendered pages over the state store, for people.

The overview shows the workflow map with the constraint highlighted and its evidence beside
it; each integration has a page of plots; then the incidents and the dead letters. Pages are
Jinja templates; the plots and the map are SVG the server draws; the one script is htmx
(vendored, see static/VENDORED.md), which refreshes each page in place.
"""

from __future__ import annotations

from syncwell.api.dashboard.pages import (
    PAGE_HEADERS,
    LoginRequired,
    install_dashboard,
    page_templates,
)

__all__ = ["PAGE_HEADERS", "LoginRequired", "install_dashboard", "page_templates"]
