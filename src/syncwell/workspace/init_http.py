"""The commented skeleton `syncwell init --http URL` writes: an http system, one stream, a flow.

Every guess is marked `EDIT:`. As written the file passes `syncwell check`: the sign-in is
commented out (an unset `${TOKEN}` would be refused) and the stream reads one page of
`/items`, so `syncwell probe` tells which guesses the API disagrees with.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from syncwell.workspace.init_proposal import flow_name
from syncwell.workspace.init_yaml import SystemDraft, scalar, system_lines

__all__ = ["api_system_name", "render_http_workspace"]


def api_system_name(base_url: str) -> str:
    """A system name from the API's host: `api.crm.example` gives `crm`."""
    host = urlsplit(base_url).hostname or "api"
    parts = [part for part in host.split(".") if part not in {"api", "www", "rest"}]
    return flow_name(parts[0] if len(parts) > 1 else (parts or ["api"])[0])


def render_http_workspace(name: str, api: str, base_url: str, destination: SystemDraft) -> str:
    """The whole skeleton: the API as a source, one stream, one flow into `destination`."""
    variable = f"{api.upper().replace('-', '_')}_TOKEN"
    lines = [
        "# Written by `syncwell init --http`: a skeleton to finish. Each EDIT: is a guess to",
        "# check against the API's documentation (docs/connectors/http.md has every option).",
        "# Then: syncwell check (this file), syncwell probe (asks the API), create the",
        "# destination table by hand (an http source has no catalog for `syncwell tables` to",
        "# derive it from), and syncwell run.",
        "version: 1",
        f"name: {scalar(name)}",
        "",
        "systems:",
        f"  {api}:                          # where records come from: the API",
        "    kind: http",
        f"    base_url: {scalar(base_url)}",
        "    # EDIT: how requests sign in; uncomment one and export the variable first",
        "    # (a ${VAR} that is not set is an error when the file loads):",
        f'    # auth: {{type: bearer, token: "${{{variable}}}"}}',
        f'    # auth: {{type: api_key, header: X-Api-Key, key: "${{{variable}}}"}}',
        "    rate_limit: {per_second: 5}      # EDIT: the requests per second the API allows",
        "    streams:",
        "      items:                         # EDIT: name it for what it holds (contacts, ...)",
        "        read:",
        "          path: /items               # EDIT: the path that lists the records",
        "          params: {limit: 100}       # EDIT: the page size parameter, if any",
        "          records: data              # EDIT: where the list is in the answer ('' if it"
        " is the body)",
        "          # EDIT: how pages link; without it only the first page is read. One of:",
        "          # pagination: {style: cursor, cursor_path: paging.next, param: after}",
        "          # pagination: {style: next_url, next_url_path: next}",
        "          # pagination: {style: link_header}",
        "          # pagination: {style: page, page_param: page, page_size: 100}",
        "          # EDIT: ask for changed records only; without it each read fetches all and",
        "          # keeps what is newer than the cursor:",
        '          # incremental: {params: {updated_since: "{since}"}}',
        *system_lines(destination),
        "",
        "flows:",
        "  # EDIT: the key is the field that names a record; the cursor the field every change",
        "  # updates (remove `cursor:` if there is none: each read is then whole, and only",
        "  # changed records are journaled).",
        "  items:",
        f"    source: {api}",
        f"    destination: {destination.name}",
        "    stream: items",
        "    key: id                          # EDIT",
        "    cursor: updated_at               # EDIT",
        "    interval: 5m",
        "    deletes: {detect: scan, every: 1h}   # a read by cursor never sees a delete: list"
        " the keys hourly",
    ]
    return "\n".join(lines) + "\n"
