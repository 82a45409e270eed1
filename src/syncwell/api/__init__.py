"""The HTTP interface: REST under /api/v1, webhook ingress under /hooks/{system}, health."""
