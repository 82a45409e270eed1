"""syncwell: the integration engine that keeps your core system in sync with the tools at the
centre of your customers' work, and names the one integration that holds the workflow back."""

from __future__ import annotations

__version__ = "0.1.0"
