"""The HTTP interface: REST under /api/v1, webhook ingress under /hooks/{system}, health."""

from syncwell.api.app import create_app
from syncwell.api.server import ApiServer

__all__ = ["ApiServer", "create_app"]
